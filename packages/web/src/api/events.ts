import type { ServerEvent, SubscribeMessage } from '@lora-manager/contract';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'closed';

export interface EventStreamOptions {
  /** Where to connect; called again on every (re)connect so a changed backend URL or key takes effect. */
  url: () => string;
  retryMs?: number;
  maxRetryMs?: number;
  /** Injected in tests. */
  createSocket?: (url: string) => WebSocket;
  onState?: (state: ConnectionState) => void;
}

type Listener = (event: ServerEvent) => void;

/**
 * One reconnecting WebSocket for the whole app. It subscribes to every job on open, reconnects with exponential
 * backoff (retryMs doubling up to maxRetryMs) and hands every message to the listeners; the stores decide what
 * each event means.
 */
export class EventStream {
  private socket: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempts = 0;
  private stopped = true;
  state: ConnectionState = 'idle';

  constructor(private readonly options: EventStreamOptions) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.stopped = false;
    if (!this.socket) this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.setState('idle');
  }

  /** Drop the current socket and connect again now (the backend URL or key changed). */
  restart(): void {
    this.stop();
    this.attempts = 0;
    this.start();
  }

  /** The delay before reconnect attempt `n` (0-based). */
  backoff(n: number): number {
    const base = this.options.retryMs ?? 3000;
    return Math.min(this.options.maxRetryMs ?? 60_000, base * 2 ** n);
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.options.onState?.(state);
  }

  private connect(): void {
    this.setState('connecting');
    let socket: WebSocket;
    try {
      const url = this.options.url();
      socket = this.options.createSocket ? this.options.createSocket(url) : new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.setState('open');
      const subscribe: SubscribeMessage = { type: 'subscribe', job_ids: null, include_previews: true };
      socket.send(JSON.stringify(subscribe));
    };
    socket.onmessage = (message: MessageEvent) => {
      let event: ServerEvent;
      try {
        event = JSON.parse(String(message.data)) as ServerEvent;
      } catch {
        return;
      }
      if (!event || typeof event.type !== 'string') return;
      for (const listener of this.listeners) listener(event);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setState('closed');
      this.scheduleReconnect();
    };
    socket.onerror = () => socket.close();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.backoff(this.attempts++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
