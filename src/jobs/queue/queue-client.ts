import { FlowProducer, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createRedisConnection } from "./redis-connection.ts";
import type { QueueName } from "./job-names.ts";
import { RunStore } from "./run-store.ts";
import type { RunStarter } from "./job-types.ts";
import { createRunStarter } from "./start-run.ts";

/**
 * The producer side: one Redis connection, the flow producer, queue handles (for states, schedulers),
 * the run store. Used by `keyproof run` (queued), the API server and `keyproof schedule`.
 */
export class QueueClient {
  readonly redis: Redis;
  readonly prefix: string;
  readonly runs: RunStore;
  readonly flows: FlowProducer;
  readonly startRun: RunStarter;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #ownsConnection: boolean;

  constructor(options: { redis: Redis; prefix: string; ownsConnection?: boolean }) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.#ownsConnection = options.ownsConnection ?? false;
    this.runs = new RunStore(this.redis, this.prefix);
    this.flows = new FlowProducer({ connection: this.redis, prefix: this.prefix });
    // Connection errors reach the callers of failed commands; the emitter must not crash the process.
    this.flows.on("error", () => undefined);
    this.startRun = createRunStarter({ runs: this.runs, flows: this.flows });
  }

  static connect(redisUrl: string, prefix: string): QueueClient {
    return new QueueClient({
      redis: createRedisConnection(redisUrl, "client"),
      prefix,
      ownsConnection: true,
    });
  }

  queue(name: QueueName): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.redis, prefix: this.prefix });
      queue.on("error", () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    await this.flows.close();
    if (this.#ownsConnection) await this.redis.quit().catch(() => undefined);
  }
}
