import { createHash } from 'node:crypto';
import type { Recipe, RecipeLora, RecipeParams } from '@lora-manager/contract';
import type { RecipeLoraTable, RecipeTable } from '../../db/tables.ts';
import { emptyParams, type DraftEmbedding } from '../../lib/recipes/recipe-draft.ts';
import type { RecipeLoraRow } from '../repositories/recipe.repository.ts';

/** Row ↔ API shapes and the derived fields (fingerprint, search text, tags) every write computes the same way. */

export const API_PREFIX = '/api/v1';

export function tagKey(tag: string): string {
  return tag.trim().toLowerCase();
}

/** Tags as the user spelled them, trimmed, without case-insensitive repeats. */
export function cleanTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const tag of tags) {
    const t = tag.trim();
    if (t && !seen.has(tagKey(t))) {
      seen.add(tagKey(t));
      out.push(t);
    }
  }
  return out;
}

/**
 * What makes two recipes the same combination: each LoRA's identity (the matched adapter, else the source hash, else
 * its name) with its weights, sorted. Prompt and parameters are not part of it: the duplicate finder offers merges.
 */
export function fingerprintOf(loras: ReadonlyArray<Pick<RecipeLoraTable, 'name' | 'weight' | 'clip_weight' | 'hash' | 'adapter_id'>>): string {
  const parts = loras
    .map((l) => {
      const id = l.adapter_id ? `a:${l.adapter_id}` : l.hash ? `h:${l.hash}` : `n:${l.name.trim().toLowerCase()}`;
      return `${id}@${l.weight.toFixed(2)}/${(l.clip_weight ?? l.weight).toFixed(2)}`;
    })
    .sort();
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 20);
}

export function searchTextOf(name: string, prompt: string, loras: ReadonlyArray<{ name: string }>): string {
  return [name, prompt, ...loras.map((l) => l.name)].join('\n').toLowerCase().slice(0, 30_000);
}

export function parseJson<T>(text: string | null, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function civitaiUrl(l: Pick<RecipeLoraTable, 'civitai_model_id' | 'civitai_version_id' | 'hash' | 'civitai_checked_at'>): string | null {
  if (l.civitai_model_id) return `https://civitai.com/models/${l.civitai_model_id}${l.civitai_version_id ? `?modelVersionId=${l.civitai_version_id}` : ''}`;
  if (l.civitai_version_id) return `https://civitai.com/api/v1/model-versions/${l.civitai_version_id}`;
  // Asked, and CivitAI does not know the hash: no page to send the user to.
  if (l.civitai_checked_at) return null;
  // CivitAI's by-hash lookup takes SHA-256, AutoV2 and AutoV3 alike.
  if (l.hash && [10, 12, 64].includes(l.hash.length)) return `https://civitai.com/api/v1/model-versions/by-hash/${l.hash}`;
  return null;
}

export function toRecipeLora(l: RecipeLoraRow, civitaiEnabled: boolean): RecipeLora {
  const missing = l.adapter_id === null;
  return {
    position: l.position,
    name: l.name,
    weight: l.weight,
    clip_weight: l.clip_weight,
    hash: l.hash,
    adapter_id: l.adapter_id,
    adapter_name: l.adapter_name,
    match: missing ? null : ((l.match_kind ?? 'chosen') as RecipeLora['match']),
    missing,
    civitai_model_id: l.civitai_model_id,
    civitai_version_id: l.civitai_version_id,
    civitai_name: missing ? l.civitai_name : null,
    civitai_checked_at: missing ? l.civitai_checked_at : null,
    civitai_url: missing && civitaiEnabled ? civitaiUrl(l) : null,
  };
}

export function paramsOf(text: string): RecipeParams {
  return { ...emptyParams(), ...parseJson<Partial<RecipeParams>>(text, {}) };
}

export function toRecipe(row: RecipeTable, loras: readonly RecipeLoraRow[], civitaiEnabled: boolean): Recipe {
  const extra = parseJson<{ embeddings?: DraftEmbedding[]; fields?: Record<string, string> }>(row.extra, {});
  return {
    id: row.id,
    name: row.name,
    prompt: row.prompt,
    negative_prompt: row.negative_prompt,
    params: paramsOf(row.params),
    source: row.source as Recipe['source'],
    base_model: row.base_model,
    loras: loras.map((l) => toRecipeLora(l, civitaiEnabled)),
    embeddings: extra.embeddings ?? [],
    extra: extra.fields ?? {},
    tags: parseJson<string[]>(row.tags, []),
    favorite: row.favorite === 1,
    rating: row.rating,
    nsfw_level: row.nsfw_level,
    notes: row.notes,
    fingerprint: row.fingerprint,
    lora_count: row.lora_count,
    missing_count: row.missing_count,
    preview_url: row.preview_file ? `${API_PREFIX}/recipes/${encodeURIComponent(row.id)}/preview` : null,
    source_result_id: row.source_result_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** A default name: the given one, else the prompt's first words, else the LoRA names. */
export function defaultName(given: string | null | undefined, prompt: string, loras: ReadonlyArray<{ name: string }>): string {
  const name = given?.trim();
  if (name) return name.slice(0, 200);
  const words = prompt.replace(/[<>()[\]{}]/g, ' ').split(/[\s,]+/).filter(Boolean).slice(0, 6).join(' ');
  if (words) return words.slice(0, 200);
  if (loras.length > 0) return loras.map((l) => l.name).join(' + ').slice(0, 200);
  return 'Untitled recipe';
}
