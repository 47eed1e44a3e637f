import { Worker } from 'node:worker_threads';
import { analyseLoraFile, type AnalyseRequest, type AnalyseResult } from '../lib/lora-file.ts';
import { readerBundle } from './reader-bundle.ts';

/**
 * Reads headers on worker threads so a first scan uses every core: parsing thousands of 100–700 KB headers is
 * CPU work, while the main thread walks folders and writes the database. With `threads: 0` everything runs
 * inline (tests, tiny libraries). A worker that dies fails only the batch in hand; a new one takes its place and
 * the batches queued behind it.
 */
export interface Analyser {
  analyse(requests: readonly AnalyseRequest[]): Promise<AnalyseResult[]>;
  close(): Promise<void>;
}

export class InlineAnalyser implements Analyser {
  async analyse(requests: readonly AnalyseRequest[]): Promise<AnalyseResult[]> {
    return requests.map((r) => analyseLoraFile(r));
  }

  async close(): Promise<void> {}
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** Tasks posted to this thread, oldest first: it answers them in that order. */
  inbox: Task[];
}

interface Task {
  id: number;
  requests: readonly AnalyseRequest[];
  resolve(results: AnalyseResult[]): void;
}

/** The reader loaded through tsx: the way in when the bundle is not there. */
/** What a reader thread is told at start (its workerData): a thread has its own modules, so settings travel with it. */
export interface ReaderThreadOptions {
  /** Config.nativeHeaderReader: whether the thread may use the C header reader. */
  nativeHeaderReader: boolean;
}

const TSX_WORKER_URL = new URL('./analyse.worker.mjs', import.meta.url);

/**
 * Tasks posted to one thread ahead of its answers. The main thread takes results only between its own steps (a
 * database write takes ~100 ms); a thread that had to wait for it to hand out the next task sat idle 40 % of a
 * first scan. With tasks queued in its inbox it goes straight on to the next.
 */
export const POSTED_PER_THREAD = 8;

export class WorkerAnalyser implements Analyser {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private started: Promise<void> | undefined;
  private bundle: string | null = null;
  private nextId = 1;
  private closed = false;

  /**
   * Threads start on the first request (a scan that finds nothing to read never starts any), from the bundled
   * reader when `source` gives one, else through tsx. `options` travel to each thread as its workerData.
   */
  constructor(
    private readonly threads: number,
    private readonly source: () => Promise<string | null> = readerBundle,
    private readonly options: ReaderThreadOptions = { nativeHeaderReader: true },
  ) {}

  /** How the threads were started: 'bundle', 'tsx', or null before the first request. */
  get loadedFrom(): 'bundle' | 'tsx' | null {
    return this.slots.length === 0 ? null : this.bundle === null ? 'tsx' : 'bundle';
  }

  analyse(requests: readonly AnalyseRequest[]): Promise<AnalyseResult[]> {
    if (requests.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, requests, resolve });
      void this.start().then(() => this.pump());
    });
  }

  private start(): Promise<void> {
    this.started ??= this.source()
      .catch(() => null)
      .then((bundle) => {
        this.bundle = bundle;
        if (!this.closed) for (let i = 0; i < this.threads; i++) this.slots.push(this.spawn());
      });
    return this.started;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const task of [...this.queue, ...this.slots.flatMap((s) => s.inbox)]) task.resolve(task.requests.map(() => failed('scanner stopped')));
    this.queue.length = 0;
    for (const slot of this.slots) slot.inbox.length = 0;
  }

  private spawn(): Slot {
    const workerData = this.options;
    const worker = this.bundle === null ? new Worker(TSX_WORKER_URL, { workerData }) : new Worker(this.bundle, { eval: true, workerData });
    let markReady: () => void = () => undefined;
    const slot: Slot = { worker, inbox: [], ready: new Promise<void>((r) => (markReady = r)) };
    worker.on('message', (message: { ready?: boolean; id?: number; results?: AnalyseResult[] }) => {
      if (message.ready) {
        markReady();
        return;
      }
      const task = slot.inbox[0]?.id === message.id ? slot.inbox.shift() : undefined;
      if (task && message.results) task.resolve(message.results);
      this.pump();
    });
    // The task in hand when a thread dies fails (its files are reported); the ones still queued go to its successor.
    const replace = (reason: string) => {
      const [current, ...waiting] = slot.inbox;
      slot.inbox = [];
      current?.resolve(current.requests.map(() => failed(reason)));
      this.queue.unshift(...waiting);
      const index = this.slots.indexOf(slot);
      if (index >= 0 && !this.closed) {
        this.slots[index] = this.spawn();
        this.pump();
      }
    };
    worker.on('error', (error) => replace(`header reader crashed: ${error.message}`));
    worker.on('exit', (code) => {
      if (!this.closed && this.slots.includes(slot)) replace(`header reader exited with code ${code}`);
    });
    return slot;
  }

  /** Hand queued tasks to the threads with the fewest in hand, up to POSTED_PER_THREAD each. */
  private pump(): void {
    while (this.queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.slots) if (s.inbox.length < POSTED_PER_THREAD && (!slot || s.inbox.length < slot.inbox.length)) slot = s;
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.inbox.push(task);
      const { worker } = slot;
      void slot.ready.then(() => worker.postMessage({ id: task.id, requests: task.requests }));
    }
  }
}

function failed(reason: string): AnalyseResult {
  return { ok: false, code: 'internal_error', reason };
}

export function createAnalyser(threads: number, options: ReaderThreadOptions): Analyser {
  return threads > 0 ? new WorkerAnalyser(threads, readerBundle, options) : new InlineAnalyser();
}
