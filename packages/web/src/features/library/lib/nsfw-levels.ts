/**
 * CivitAI's NSFW levels, which a LoRA carries (from CivitAI, a sidecar, or the user). Previews at or above the blur
 * threshold chosen in Settings are blurred, so a local file a user rates R is blurred like one CivitAI rated R.
 */
export const NSFW_RATINGS = [
  { label: 'Not rated', value: 0 },
  { label: 'PG', value: 1 },
  { label: 'PG-13', value: 2 },
  { label: 'R', value: 4 },
  { label: 'X', value: 8 },
  { label: 'XXX', value: 16 },
] as const;

/** The name of a stored level; CivitAI may combine flags (its highest one names it). */
export function nsfwLabel(level: number): string {
  const named = [...NSFW_RATINGS].reverse().find((r) => r.value > 0 && level >= r.value);
  return named?.label ?? 'Not rated';
}
