/**
 * The event port. Services publish what happened; the WebSocket (and anything else) subscribes. In one process it
 * is an EventEmitter; with REDIS_URL it is Redis pub/sub, so progress from any worker reaches every API process.
 */
export interface EventBus {
  publish(channel: EventChannel, message: unknown): Promise<void>;
  /** Returns the function that unsubscribes. */
  subscribe(channel: EventChannel, listener: (message: unknown) => void): () => void;
  close(): Promise<void>;
}

/** `jobs`: a JobEvent for every job state or progress change. `job-control`: cancel requests to whichever process runs the job. `system`: status snapshots. */
export type EventChannel = 'jobs' | 'job-control' | 'system';
