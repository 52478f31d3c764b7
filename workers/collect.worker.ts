// Entrypoint of the collect worker kind: `npx tsx workers/collect.worker.ts` (REDIS_URL, KEYPROOF_QUEUE_PREFIX from the environment).
import { runWorkerEntrypoint } from "./bootstrap.ts";

await runWorkerEntrypoint(["collect"]);
