/**
 * Analytics windows and their buckets. A window is aligned to its buckets (whole hours for 24h, whole UTC days for
 * longer ranges) and ends now, so every bucket of a chart lies wholly inside the window and the KPIs and the series
 * count the same jobs. Roll-up keys are ISO prefixes: `YYYY-MM-DDTHH` for hours, `YYYY-MM-DD` for days.
 */

export type RangeName = '24h' | '7d' | '30d' | '90d';
export type BucketUnit = 'hour' | 'day';

export const RANGE_NAMES: readonly RangeName[] = ['24h', '7d', '30d', '90d'];
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A custom range up to this long is shown per hour; longer ones per day. */
const HOURLY_UP_TO_MS = 72 * HOUR_MS;
/** The longest custom range (bounds the work and the size of the answer). */
export const MAX_RANGE_MS = 366 * DAY_MS;

export interface TimeWindow {
  /** '24h', '7d', '30d', '90d' or 'custom'. */
  name: RangeName | 'custom';
  unit: BucketUnit;
  /** Inclusive start (a bucket boundary). */
  from: Date;
  /** Exclusive end. */
  to: Date;
  /** The window of the same length just before (for growth and improvement). */
  previousFrom: Date;
}

export function bucketMs(unit: BucketUnit): number {
  return unit === 'hour' ? HOUR_MS : DAY_MS;
}

export function floorTo(date: Date, unit: BucketUnit): Date {
  const ms = bucketMs(unit);
  return new Date(Math.floor(date.getTime() / ms) * ms);
}

/** The roll-up key of the bucket holding `date` (or of an ISO string, by prefix). */
export function bucketKey(date: Date | string, unit: BucketUnit): string {
  const iso = typeof date === 'string' ? date : date.toISOString();
  return unit === 'hour' ? iso.slice(0, 13) : iso.slice(0, 10);
}

/** The key a bucket key stands for, as the ISO timestamp of its start. */
export function keyToIso(key: string): string {
  return key.length === 13 ? `${key}:00:00.000Z` : `${key}T00:00:00.000Z`;
}

export function namedWindow(name: RangeName, now: Date): TimeWindow {
  const unit: BucketUnit = name === '24h' ? 'hour' : 'day';
  const count = { '24h': 24, '7d': 7, '30d': 30, '90d': 90 }[name];
  const from = new Date(floorTo(now, unit).getTime() - (count - 1) * bucketMs(unit));
  const to = new Date(now.getTime() + 1);
  return { name, unit, from, to, previousFrom: new Date(from.getTime() - count * bucketMs(unit)) };
}

/** A custom window [from, to): per hour up to 72 hours, per day beyond. Caller checks from < to and the length. */
export function customWindow(from: Date, to: Date): TimeWindow {
  const unit: BucketUnit = to.getTime() - from.getTime() <= HOURLY_UP_TO_MS ? 'hour' : 'day';
  const start = floorTo(from, unit);
  const length = to.getTime() - start.getTime();
  return { name: 'custom', unit, from: start, to, previousFrom: new Date(start.getTime() - length) };
}

/** Every bucket start of the window, ascending: the charts' x axis, with nothing left out. */
export function bucketStarts(window: Pick<TimeWindow, 'from' | 'to' | 'unit'>): Date[] {
  const out: Date[] = [];
  const step = bucketMs(window.unit);
  for (let t = window.from.getTime(); t < window.to.getTime(); t += step) out.push(new Date(t));
  return out;
}
