// Entrypoint of a worker serving every queue (small deployments, tests): `npx tsx workers/all.worker.ts`.
import { QUEUE_NAMES } from "../src/jobs/queue/job-names.ts";
import { runWorkerEntrypoint } from "./bootstrap.ts";

await runWorkerEntrypoint(QUEUE_NAMES);
