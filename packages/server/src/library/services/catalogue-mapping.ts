import path from 'node:path';
import { a1111SdVersion, consistentSdVersion } from '../../lib/base-models.ts';
import type { LibraryWalkFile } from './scan-types.ts';
import type { LoraAnalysis } from '../../lib/lora-file.ts';
import type { AdapterFields } from '../repositories/adapter.repository.ts';
import type { AdapterMetadataRow } from '../repositories/library.repository.ts';
import { autov3 } from '../../lib/hashes.ts';

/**
 * How a scanned file and its sidecars become catalogue fields. A rescan writes only what a source provides (a
 * deleted sidecar or a CivitAI answer is never replaced by nothing) and never a field the user edited; the
 * user's own columns (active, weight, ordinal, favourite, rating, user tags) are not in here at all.
 */
export type ScanOwnedFields = Partial<AdapterFields> & { name?: string };

export function fileFacts(file: LibraryWalkFile, now: string): ScanOwnedFields {
  return {
    name: path.basename(file.path).replace(/\.safetensors$/i, ''),
    file_path: file.path,
    library_root: file.root,
    relative_path: file.relativePath,
    file_size: file.size,
    file_mtime: new Date(file.mtimeMs).toISOString(),
    primary_file_name: path.basename(file.path),
    primary_file_local_path: file.path,
    primary_file_size_kb: Math.round(file.size / 1024),
    missing: false,
    last_ingested_at: now,
  };
}

/** Fields read from the header and the sidecars. Absent values are left out, not nulled. */
export function sourceFields(a: LoraAnalysis, preview: string | null): ScanOwnedFields {
  const s = a.sidecars;
  const t = a.training;
  const out: ScanOwnedFields = {};
  const set = <K extends keyof ScanOwnedFields>(key: K, value: ScanOwnedFields[K] | null | undefined) => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value) && value.length === 0) return;
    out[key] = value;
  };
  set('version', s.versionName ?? t.version);
  set('description', s.description ?? t.description);
  set('author_username', s.author ?? t.author);
  set('published_at', s.publishedAt);
  set('trained_words', s.trainedWords);
  set('triggers', t.suggestedTriggers);
  set('activation_text', s.activationText);
  set('preferred_weight', s.preferredWeight);
  set('negative_text', s.negativeText ?? t.negativeText);
  set('notes', s.notes);
  set('nsfw_level', s.nsfwLevel);
  set('stats', s.civitai.stats);
  set('primary_file_sha256', s.civitai.primaryFile?.sha256);
  set('primary_file_download_url', s.civitai.primaryFile?.downloadUrl);
  // CivitAI's base model names fine-tunes (Pony, Illustrious) that the file's shapes cannot tell apart.
  set('base_model', s.baseModel ?? a.baseModel?.baseModel);
  // A sidecar's "Unknown" says nothing: the base model, when known, tells the version (kept consistent with it).
  const baseModel = s.baseModel ?? a.baseModel?.baseModel;
  set('sd_version', consistentSdVersion(s.sdVersion ?? (a.baseModel ? a1111SdVersion(a.baseModel.family) : null), baseModel ?? null) ?? undefined);
  set('network_type', a.networkType);
  set('rank', a.rank);
  set('alpha', a.alpha);
  set('resolution', t.resolution);
  set('civitai_model_id', s.civitai.modelId);
  set('civitai_version_id', s.civitai.versionId);
  set('civitai_status', s.civitai.status);
  set('preview_path', preview);
  const embedded = t.embeddedDataHash;
  if (embedded) set('autov3', autov3(embedded));
  const json = s.a1111JsonPath ?? null;
  set('json_file_path', json);
  return out;
}

/** Drop the fields the user edited. */
export function withoutUserFields(fields: ScanOwnedFields, userFields: readonly string[]): ScanOwnedFields {
  if (userFields.length === 0) return fields;
  const out = { ...fields } as Record<string, unknown>;
  for (const f of userFields) delete out[f];
  return out as ScanOwnedFields;
}

export function sourceTags(a: LoraAnalysis): string[] {
  return [...a.sidecars.tags, ...a.training.tags];
}

export function metadataRow(adapterId: string, a: LoraAnalysis, signature: string, now: string): AdapterMetadataRow {
  return {
    adapter_id: adapterId,
    header_length: a.headerLength,
    data_offset: a.dataOffset,
    tensor_count: a.tensorCount,
    module_count: a.moduleCount,
    fingerprint: a.fingerprint,
    base_model_source: a.sidecars.baseModel ? (a.sidecars.sources.baseModel ?? 'sidecar') : (a.baseModel?.source ?? null),
    base_family: a.baseModel?.family ?? null,
    metadata: a.stored.metadata,
    training: a.stored.training,
    tag_frequency: a.stored.tagFrequency,
    sidecars: a.stored.sidecars,
    civitai: a.stored.civitai,
    embedded_data_hash: a.training.embeddedDataHash,
    scan_signature: signature,
    scanned_at: now,
  };
}
