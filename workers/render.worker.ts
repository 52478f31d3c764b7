// Entrypoint of the render worker kind: `npx tsx workers/render.worker.ts` (REDIS_URL, KEYPROOF_QUEUE_PREFIX from the environment).
import { runWorkerEntrypoint } from "./bootstrap.ts";

await runWorkerEntrypoint(["render"]);
