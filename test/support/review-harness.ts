/**
 * A reviewable estate for the annual-review tests: the demo AWS estate seeded in moto, an inline run (no
 * rendering) sealed and stored in a local chain store, and an API server on real Redis with one token per
 * role. The review routes then find that bundle as the scope's latest, exactly as in production.
 */
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApiServer } from "../../src/api/api-server.ts";
import { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { runInline, type RunResult } from "../../src/jobs/run-inline.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import type { ReviewView } from "../../src/api/review-schemas.ts";
import {
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  prepareEstate,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "../integration/queue-harness.ts";

export interface ReviewHarness {
  setup: TestEstate;
  run: RunResult;
  prefix: string;
  client: QueueClient;
  app: FastifyInstance;
  tokens: ApiTokenStore;
  reviewer: string;
  secondReviewer: string;
  auditor: string;
  operator: string;
  dataDirectory: string;
  /** A render worker: it seals signed reviews (the PDF needs its browser). */
  runtime: WorkerRuntime;
  /** Polls GET /v1/reviews/{id} until its evidence is sealed or failed (the render worker's job). */
  waitForEvidence(id: string): Promise<ReviewView>;
  close(): Promise<void>;
}

export async function startReviewHarness(name: string): Promise<ReviewHarness> {
  const setup = await prepareEstate({ configExtra: { storage: { local: "./store" } } });
  const prefix = uniquePrefix(name);
  const client = QueueClient.connect(REDIS_URL, prefix);
  try {
    const run = await runInline({
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "evidence"),
      render: false,
    });
    const tokens = new ApiTokenStore(client.redis, prefix);
    const reviewer = (await tokens.create({ name: "Ana (Security Analyst)", role: "reviewer" })).token;
    const secondReviewer = (await tokens.create({ name: "Ben (Security Engineer)", role: "reviewer" })).token;
    const auditor = (await tokens.create({ name: "jane-auditor", role: "auditor" })).token;
    const operator = (await tokens.create({ name: "ops", role: "operator" })).token;
    const dataDirectory = path.join(setup.directory, "data");
    const runtime = await startWorkerRuntime({ redisUrl: REDIS_URL, prefix, queues: ["render"] });
    const app = await buildApiServer({
      client,
      service: {
        config: setup.loaded.config,
        configDirectory: setup.loaded.directory,
        dataDirectory,
        render: false,
      },
    });
    return {
      setup,
      run,
      prefix,
      client,
      app,
      tokens,
      reviewer,
      secondReviewer,
      auditor,
      operator,
      dataDirectory,
      runtime,
      async waitForEvidence(id) {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const response = await app.inject({
            method: "GET",
            url: `/v1/reviews/${id}`,
            headers: { authorization: `Bearer ${reviewer}` },
          });
          const view = response.json<ReviewView>();
          if (view.evidence?.state === "sealed" || view.evidence?.state === "failed") return view;
          if (Date.now() > deadline)
            throw new Error(`review ${id}: evidence still ${view.evidence?.state ?? "absent"}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      },
      async close() {
        await runtime.close();
        await app.close();
        await client.close();
        await cleanupPrefix(REDIS_URL, prefix);
        await removeDirectory(setup.directory);
      },
    };
  } catch (error) {
    await client.close();
    await removeDirectory(setup.directory);
    throw error;
  }
}
