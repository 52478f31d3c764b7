import { FlowProducer, Queue } from "bullmq";
import { Cluster, type Redis } from "ioredis";
import { KeyproofError } from "../../errors/errors.ts";
import { createRedisConnection } from "./redis-connection.ts";
import { isHashTagged, queuePrefixFor } from "./redis-target.ts";
import type { QueueName } from "./job-names.ts";
import { RunStore } from "./run-store.ts";
import type { RunStarter } from "./job-types.ts";
import { createRunStarter } from "./start-run.ts";

/**
 * The producer side: one Redis connection, the flow producer, queue handles (for states, schedulers),
 * the run store. Used by `keyproof run` (queued), the API server and `keyproof schedule`.
 */
export class QueueClient {
  readonly redis: Redis | Cluster;
  readonly prefix: string;
  readonly runs: RunStore;
  readonly flows: FlowProducer;
  readonly startRun: RunStarter;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #ownsConnection: boolean;

  constructor(options: { redis: Redis | Cluster; prefix: string; ownsConnection?: boolean }) {
    if (options.redis instanceof Cluster && !isHashTagged(options.prefix)) {
      // Without one hash tag BullMQ's scripts fail with CROSSSLOT on the first job (BullMQ "Redis Cluster").
      throw new KeyproofError(
        "CONFIG_INVALID",
        `queue prefix "${options.prefix}" must be hash-tagged on a Redis Cluster ("{${options.prefix}}")`,
      );
    }
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.#ownsConnection = options.ownsConnection ?? false;
    this.runs = new RunStore(this.redis, this.prefix);
    this.flows = new FlowProducer({ connection: this.redis, prefix: this.prefix });
    // Connection errors reach the callers of failed commands; the emitter must not crash the process.
    this.flows.on("error", () => undefined);
    this.startRun = createRunStarter({ runs: this.runs, flows: this.flows });
  }

  /** `prefix` is hash-tagged here when the URL names a Redis Cluster (queuePrefixFor). */
  static connect(redisUrl: string, prefix: string): QueueClient {
    return new QueueClient({
      redis: createRedisConnection(redisUrl, "client"),
      prefix: queuePrefixFor(redisUrl, prefix),
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
