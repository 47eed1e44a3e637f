/**
 * Memoise an async probe for `ttlMs`: calls within the window share one result (or one in-flight promise), so a
 * dashboard polled by many clients runs nvidia-smi or pings a generation server at most once per window.
 */
export function cachedFor<T>(ttlMs: number, probe: () => Promise<T>, now: () => number = Date.now): () => Promise<T> {
  let entry: { at: number; value: Promise<T> } | undefined;
  return () => {
    const t = now();
    if (!entry || t - entry.at >= ttlMs) {
      const value = probe();
      entry = { at: t, value };
      // A rejected probe is not cached: the next caller tries again.
      value.catch(() => {
        if (entry?.value === value) entry = undefined;
      });
    }
    return entry.value;
  };
}
