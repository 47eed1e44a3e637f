import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { EventBus, EventChannel } from './event-bus.ts';
import { closeRedis, openRedis } from './redis-connection.ts';

const CHANNELS: readonly EventChannel[] = ['jobs', 'job-control', 'system'];

/**
 * Redis pub/sub behind the EventBus port: every process (API or worker) publishes to Redis and hears every message,
 * its own included, so a worker's progress reaches the WebSockets of every API process. One subscriber connection
 * per process carries all channels; local listeners hang off an EventEmitter.
 */
export class RedisEventBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private closed = false;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly onListenerError: (error: unknown, channel: EventChannel) => void,
  ) {
    sub.on('message', (redisChannel: string, text: string) => this.deliver(redisChannel, text));
  }

  /** Connect and subscribe before returning, so nothing published after this resolves is missed. */
  static async connect(
    url: string,
    options: { prefix: string; onListenerError?: (error: unknown, channel: EventChannel) => void },
  ): Promise<RedisEventBus> {
    const pub = openRedis(url, 'lora-manager:events:pub');
    const sub = openRedis(url, 'lora-manager:events:sub');
    const bus = new RedisEventBus(pub, sub, options.prefix, options.onListenerError ?? (() => undefined));
    try {
      await sub.subscribe(...CHANNELS.map((c) => bus.redisChannel(c)));
      await pub.ping();
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }

  async publish(channel: EventChannel, message: unknown): Promise<void> {
    if (this.closed) return;
    await this.pub.publish(this.redisChannel(channel), JSON.stringify(message));
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
