// Entrypoint of the schedule worker kind: `npx tsx workers/schedule.worker.ts` (REDIS_URL, KEYPROOF_QUEUE_PREFIX from the environment).
import { runWorkerEntrypoint } from "./bootstrap.ts";

await runWorkerEntrypoint(["schedule"]);
