/** ISO-8601 UTC with `Z`, the one time format stored and served. */
export function toIso(date: Date | number): string {
  return new Date(date).toISOString();
}

/** Normalise any parseable time string to ISO-8601 UTC, or null when it is not a time. */
export function normaliseIso(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
