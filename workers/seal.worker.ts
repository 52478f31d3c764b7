// Entrypoint of the seal worker kind: `npx tsx workers/seal.worker.ts` (REDIS_URL, KEYPROOF_QUEUE_PREFIX from the environment).
import { runWorkerEntrypoint } from "./bootstrap.ts";

await runWorkerEntrypoint(["seal"]);
