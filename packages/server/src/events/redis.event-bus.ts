import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { EventBus, EventChannel } from './event-bus.ts';
import { closeRedis, openRedis } from './redis-connection.ts';

const CHANNELS: readonly EventChannel[] = ['jobs', 'job-control', 'system'];

/** A publish Redis does not confirm within this is given up: events are news, the database holds the state. */
const PUBLISH_TIMEOUT_MS = 1000;

/**
 * Redis pub/sub behind the EventBus port: every process (API or worker) publishes to Redis and hears every message,
 * its own included, so a worker's progress reaches the WebSockets of every API process. One subscriber connection
 * per process carries all channels; local listeners hang off an EventEmitter.
 */
export class RedisEventBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private closed = false;
  /** True while events are being dropped (Redis down), so the drop is reported once per outage. */
  private dropping = false;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly onListenerError: (error: unknown, channel: EventChannel) => void,
    private readonly onDropped: (channel: EventChannel, reason: string) => void,
  ) {
    sub.on('message', (redisChannel: string, text: string) => this.deliver(redisChannel, text));
  }

  /** Connect and subscribe before returning, so nothing published after this resolves is missed. */
  static async connect(
    url: string,
    options: {
      prefix: string;
      onListenerError?: (error: unknown, channel: EventChannel) => void;
      /** An event not sent because Redis is unreachable (called once per outage, not per event). */
      onDropped?: (channel: EventChannel, reason: string) => void;
    },
  ): Promise<RedisEventBus> {
    const pub = openRedis(url, 'lora-manager:events:pub');
    const sub = openRedis(url, 'lora-manager:events:sub');
    const bus = new RedisEventBus(pub, sub, options.prefix, options.onListenerError ?? (() => undefined), options.onDropped ?? (() => undefined));
    // ioredis subscribes again by itself after a reconnect, so events resume without a restart.
    pub.on('ready', () => (bus.dropping = false));
    try {
      await sub.subscribe(...CHANNELS.map((c) => bus.redisChannel(c)));
      await pub.ping();
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }

  /**
   * Never waits on a Redis that is down: the connection queues commands through a reconnect (BullMQ needs that), so
   * a publish while Redis is away would hang the request or job that made it. Such an event is dropped; listeners
   * learn the state from the next event or the API, which read the database.
   */
  async publish(channel: EventChannel, message: unknown): Promise<void> {
    if (this.closed) return;
    if (this.pub.status !== 'ready') return this.drop(channel, `Redis connection ${this.pub.status}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pub.publish(this.redisChannel(channel), JSON.stringify(message)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.drop(channel, (error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  private drop(channel: EventChannel, reason: string): void {
    if (this.dropping) return;
    this.dropping = true;
    this.onDropped(channel, reason);
  }

  subscribe(channel: EventChannel, listener: (message: unknown) => void): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emitter.removeAllListeners();
    await Promise.all([closeRedis(this.sub), closeRedis(this.pub)]);
  }

  private redisChannel(channel: EventChannel): string {
    return `${this.prefix}:events:${channel}`;
  }

  private deliver(redisChannel: string, text: string): void {
    const channel = CHANNELS.find((c) => this.redisChannel(c) === redisChannel);
    if (!channel) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    // One failing listener must not starve the others (the WebSocket fan-out and the queue's cancel both listen).
    for (const listener of this.emitter.listeners(channel) as Array<(m: unknown) => void>) {
      try {
        listener(message);
      } catch (error) {
        this.onListenerError(error, channel);
      }
    }
  }
}
