// Entrypoint of the deliver worker kind: `npx tsx workers/deliver.worker.ts` (REDIS_URL, KEYPROOF_QUEUE_PREFIX from the environment).
import { runWorkerEntrypoint } from "./bootstrap.ts";

await runWorkerEntrypoint(["deliver"]);
