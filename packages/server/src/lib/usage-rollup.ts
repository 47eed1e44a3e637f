import { errorExample, errorSignature } from './error-signature.ts';

/**
 * Folding finished generations into the analytics roll-ups. One pure function serves both the live path (one job as
 * it finishes) and the rebuild (every job already in the database), so the two cannot drift apart.
 */

export interface FinishedGeneration {
  status: 'succeeded' | 'failed';
  created_at: string;
  started_at: string | null;
  finished_at: string;
  /** The failure's message (failed jobs only). */
  message: string | null;
  /** Rating and favourite of its results (nothing yet for a job that just finished). */
  rating: number | null;
  favorite: boolean;
  loras: ReadonlyArray<{ adapter_id: string | null; name: string }>;
}

export interface HourDelta {
  hour: string;
  finished: number;
  succeeded: number;
  failed: number;
  duration_ms_sum: number;
  duration_count: number;
}
export interface ErrorDelta {
  hour: string;
  signature: string;
  count: number;
  example: string;
}
export interface LoraDayDelta {
  day: string;
  lora_key: string;
  adapter_id: string | null;
  name: string;
  uses: number;
  succeeded: number;
  failed: number;
}
export interface AdapterDelta {
  adapter_id: string;
  uses: number;
  succeeded: number;
  failed: number;
  last_used_at: string;
  rating_sum: number;
  rating_count: number;
  favorites: number;
}

export interface UsageDeltas {
  hours: HourDelta[];
  errors: ErrorDelta[];
  loraDays: LoraDayDelta[];
  adapters: AdapterDelta[];
}

/** How a LoRA is told apart in the roll-ups: its adapter, or its lower-cased name when the catalogue lacks it. */
export function loraKey(lora: { adapter_id: string | null; name: string }): string {
  return lora.adapter_id ?? `name:${lora.name.toLowerCase()}`;
}

export function foldFinished(jobs: Iterable<FinishedGeneration>): UsageDeltas {
  const hours = new Map<string, HourDelta>();
  const errors = new Map<string, ErrorDelta>();
  const loraDays = new Map<string, LoraDayDelta>();
  const adapters = new Map<string, AdapterDelta>();
  for (const job of jobs) {
    const hour = job.created_at.slice(0, 13);
    const day = job.created_at.slice(0, 10);
    const ok = job.status === 'succeeded' ? 1 : 0;
    const bad = 1 - ok;
    const h = hours.get(hour) ?? { hour, finished: 0, succeeded: 0, failed: 0, duration_ms_sum: 0, duration_count: 0 };
    h.finished += 1;
    h.succeeded += ok;
    h.failed += bad;
    const duration = job.started_at ? Date.parse(job.finished_at) - Date.parse(job.started_at) : NaN;
    if (Number.isFinite(duration) && duration >= 0) {
      h.duration_ms_sum += duration;
      h.duration_count += 1;
    }
    hours.set(hour, h);

    if (bad) {
      const message = job.message ?? 'Unknown error';
      const signature = errorSignature(message);
      const key = `${hour}\u0000${signature}`;
      const example = errorExample(message);
      const e = errors.get(key) ?? { hour, signature, count: 0, example };
      e.count += 1;
      // The greatest message is kept (in SQL too), so the live path and a rebuild keep the same example.
      if (example > e.example) e.example = example;
      errors.set(key, e);
    }

    // A LoRA named twice in one prompt was still used by one generation.
    const seen = new Set<string>();
    for (const lora of job.loras) {
      const key = loraKey(lora);
      if (seen.has(key)) continue;
      seen.add(key);
      const dayKey = `${day}\u0000${key}`;
      const u = loraDays.get(dayKey) ?? { day, lora_key: key, adapter_id: lora.adapter_id, name: lora.name, uses: 0, succeeded: 0, failed: 0 };
      u.uses += 1;
      u.succeeded += ok;
      u.failed += bad;
      loraDays.set(dayKey, u);
      if (!lora.adapter_id) continue;
      const a = adapters.get(lora.adapter_id) ?? {
        adapter_id: lora.adapter_id,
        uses: 0,
        succeeded: 0,
        failed: 0,
        last_used_at: job.finished_at,
        rating_sum: 0,
        rating_count: 0,
        favorites: 0,
      };
      a.uses += 1;
      a.succeeded += ok;
      a.failed += bad;
      if (job.finished_at > a.last_used_at) a.last_used_at = job.finished_at;
      if (job.rating !== null) {
        a.rating_sum += job.rating;
        a.rating_count += 1;
      }
      if (job.favorite) a.favorites += 1;
      adapters.set(lora.adapter_id, a);
    }
  }
  return { hours: [...hours.values()], errors: [...errors.values()], loraDays: [...loraDays.values()], adapters: [...adapters.values()] };
}
