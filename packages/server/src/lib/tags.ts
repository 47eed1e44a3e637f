/** The key two tags are compared by: trimmed, lower-cased. */
export function tagKey(tag: string): string {
  return tag.trim().toLowerCase();
}

/** Trim, drop empties, and keep the first spelling of each case-insensitively equal tag, in order. */
export function normaliseTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    const key = tag.toLowerCase();
    if (!tag || seen.has(key)) continue;
    seen.add(key);
    out.push(tag);
  }
  return out;
}

/** Parse a comma-separated tag filter into distinct keys. */
export function parseTagFilter(value: string | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map(tagKey).filter(Boolean))];
}
