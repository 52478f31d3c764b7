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
      async close() {
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
