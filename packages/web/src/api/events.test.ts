import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventStream } from './events.ts';

class FakeSocket {
  static all: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.onclose?.();
  }
}

describe('EventStream', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  const make = (url = () => 'ws://x/ws/progress') =>
    new EventStream({ url, retryMs: 100, maxRetryMs: 400, createSocket: (u) => new FakeSocket(u) as unknown as WebSocket });

  it('subscribes to every job on open and hands messages to listeners', () => {
    const stream = make();
    const seen: string[] = [];
    stream.on((e) => seen.push(e.type));
    stream.start();
    const socket = FakeSocket.all[0];
    socket.onopen?.();
    expect(JSON.parse(socket.sent[0])).toMatchObject({ type: 'subscribe', job_ids: null });
    socket.onmessage?.({ data: JSON.stringify({ type: 'job_progress', timestamp: 't', data: {} }) });
    socket.onmessage?.({ data: 'not json' });
    expect(seen).toEqual(['job_progress']);
    expect(stream.state).toBe('open');
  });

  it('reconnects with growing delays, capped, and reads the URL again each time', () => {
    let n = 0;
    const stream = make(() => `ws://x/${++n}`);
    stream.start();
    FakeSocket.all[0].close();
    expect(stream.state).toBe('closed');
    vi.advanceTimersByTime(99);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.all[1].url).toBe('ws://x/2');
    expect([0, 1, 2, 3, 4].map((i) => stream.backoff(i))).toEqual([100, 200, 400, 400, 400]);
  });

  it('stays down after stop', () => {
    const stream = make();
    stream.start();
    stream.stop();
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(stream.state).toBe('idle');
  });
});
