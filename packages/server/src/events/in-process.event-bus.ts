import { EventEmitter } from 'node:events';
import type { EventBus, EventChannel } from './event-bus.ts';

export class InProcessEventBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(channel: EventChannel, message: unknown): Promise<void> {
    this.emitter.emit(channel, message);
  }

  subscribe(channel: EventChannel, listener: (message: unknown) => void): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
