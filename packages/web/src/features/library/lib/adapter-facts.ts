import type { Adapter } from '@lora-manager/contract';

export interface TagFrequency {
  tag: string;
  count: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * The tags the LoRA was trained on, with how often each appeared, most frequent first. Kohya writes
 * `ss_tag_frequency` as `{dataset: {tag: count}}` (often as a JSON string); a flat `{tag: count}` is read too.
 * Counts of the same tag in several datasets are added up.
 */
export function trainingTags(adapter: Pick<Adapter, 'extra'>): TagFrequency[] {
  const extra = adapter.extra ?? {};
  const metadata = isRecord(extra.metadata) ? extra.metadata : isRecord(extra.header_metadata) ? extra.header_metadata : {};
  const raw = parseMaybeJson(extra.tag_frequency ?? extra.ss_tag_frequency ?? metadata.ss_tag_frequency ?? extra.training_tags);
  if (!isRecord(raw)) return [];
  const totals = new Map<string, number>();
  const add = (tag: string, count: unknown) => {
    const n = Number(count);
    const t = tag.trim();
    if (!t || !Number.isFinite(n)) return;
    totals.set(t, (totals.get(t) ?? 0) + n);
  };
  for (const [key, value] of Object.entries(raw)) {
    if (isRecord(value)) for (const [tag, count] of Object.entries(value)) add(tag, count);
    else add(key, value);
  }
  return [...totals].map(([tag, count]) => ({ tag, count })).sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag));
}

/** The words that make the LoRA fire: triggers, activation text and trained words, deduplicated in that order. */
export function triggerWords(adapter: Pick<Adapter, 'triggers' | 'trained_words' | 'activation_text'>): string[] {
  const words = [...adapter.triggers, ...(adapter.activation_text ? [adapter.activation_text] : []), ...adapter.trained_words];
  const seen = new Set<string>();
  return words.map((w) => w.trim()).filter((w) => w && !seen.has(w.toLowerCase()) && seen.add(w.toLowerCase()));
}

/** The CivitAI page of the model, when it is known. */
export function civitaiUrl(adapter: Pick<Adapter, 'civitai_model_id' | 'civitai_version_id'>): string | null {
  if (!adapter.civitai_model_id) return null;
  const version = adapter.civitai_version_id ? `?modelVersionId=${adapter.civitai_version_id}` : '';
  return `https://civitai.com/models/${adapter.civitai_model_id}${version}`;
}

/** The `<lora:name:weight>` token the prompt uses for this adapter. */
export function loraToken(adapter: Pick<Adapter, 'name' | 'weight' | 'file_path'>, weight = adapter.weight): string {
  const file = adapter.file_path.split(/[\\/]/).pop() ?? adapter.name;
  const name = file.replace(/\.(safetensors|ckpt|pt|bin)$/i, '') || adapter.name;
  return `<lora:${name}:${Number(weight.toFixed(2))}>`;
}
