import type { Adapter, AdapterMatch } from '@lora-manager/contract';

/**
 * Why an adapter matched a library search, in the order the listing ranks matches (name exact, name prefix, inside
 * the name, a trigger word, a tag, the description): the first field that holds the term, with the value that held
 * it, so a card can say "trigger: inkwash" instead of leaving the user to guess. Null when none does (the search
 * table matched text we do not show, such as a removed tag still being re-indexed).
 */
export function matchReason(adapter: Adapter, search: string): AdapterMatch | null {
  const term = search.trim().toLowerCase();
  if (!term) return null;
  const name = adapter.name.toLowerCase();
  if (name === term) return { field: 'name', kind: 'exact', value: adapter.name };
  if (name.startsWith(term)) return { field: 'name', kind: 'prefix', value: adapter.name };
  if (name.includes(term)) return { field: 'name', kind: 'contains', value: adapter.name };
  const words = [...adapter.triggers, ...adapter.trained_words, ...(adapter.activation_text ? [adapter.activation_text] : [])];
  const word = best(words, term);
  if (word) return { field: 'trigger', ...word };
  const tag = best(adapter.tags, term);
  if (tag) return { field: 'tag', ...tag };
  const description = adapter.description ?? '';
  const at = description.toLowerCase().indexOf(term);
  if (at >= 0) return { field: 'description', kind: 'contains', value: excerpt(description, at, term.length) };
  return null;
}

/** The value equal to the term, else one starting with it, else one containing it. */
function best(values: readonly string[], term: string): { kind: AdapterMatch['kind']; value: string } | null {
  const lower = values.map((v) => v.toLowerCase());
  const exact = lower.indexOf(term);
  if (exact >= 0) return { kind: 'exact', value: values[exact] };
  const prefix = lower.findIndex((v) => v.startsWith(term));
  if (prefix >= 0) return { kind: 'prefix', value: values[prefix] };
  const inside = lower.findIndex((v) => v.includes(term));
  return inside >= 0 ? { kind: 'contains', value: values[inside] } : null;
}

/** A short window of text around a match, with ellipses where it was cut. */
function excerpt(text: string, at: number, length: number, around = 40): string {
  const start = Math.max(0, at - around);
  const end = Math.min(text.length, at + length + around);
  return `${start > 0 ? '…' : ''}${text.slice(start, end).replace(/\s+/g, ' ').trim()}${end < text.length ? '…' : ''}`;
}
