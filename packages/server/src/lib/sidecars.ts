import fs from 'node:fs';
import path from 'node:path';

/**
 * The files other tools keep next to `NAME.safetensors` (reference/file-formats-and-apis.md §3, peers.md §4.1):
 * CivitAI Helper's `.civitai.info`, A1111's `NAME.json` (and SDNext's `NAME.json`, which is a CivitAI model record
 * instead), ComfyUI-Lora-Manager's `.metadata.json`, StabilityMatrix's `.cm-info.json`, rgthree's
 * `NAME.safetensors.rgthree-info.json`, description `.txt` files and previews. Reading never throws: a sidecar
 * that cannot be read or parsed is reported and skipped.
 */
export type SidecarKind = 'civitai_info' | 'a1111_json' | 'sdnext_json' | 'lm_metadata' | 'cm_info' | 'rgthree_info' | 'description_txt';

export interface SidecarRef {
  kind: SidecarKind | 'json';
  path: string;
}

export interface SidecarSet {
  sidecars: SidecarRef[];
  preview: string | null;
}

const IMAGE_EXTS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'avif', 'jxl'];
const VIDEO_EXTS = ['mp4', 'webm'];
export const PREVIEW_EXTENSIONS = [...IMAGE_EXTS, ...VIDEO_EXTS];

/**
 * Preview names in search order. A1111 looks at `NAME.<ext>` then `NAME.preview.<ext>` for each image extension
 * (a user's own `NAME.png` beats Civitai Helper's `NAME.preview.png`); SDNext adds `NAME.thumb.<ext>`;
 * ComfyUI-Lora-Manager adds videos and `.example.0`. Matching is exact-case first, then case-insensitive.
 */
export function previewCandidates(stem: string): string[] {
  const out: string[] = [];
  for (const ext of IMAGE_EXTS) out.push(`${stem}.${ext}`, `${stem}.preview.${ext}`);
  for (const ext of IMAGE_EXTS) out.push(`${stem}.thumb.${ext}`);
  for (const ext of VIDEO_EXTS) out.push(`${stem}.preview.${ext}`, `${stem}.${ext}`);
  out.push(`${stem}.example.0.jpeg`, `${stem}.example.0.png`);
  return out;
}

type EntryKind = SidecarRef['kind'] | 'preview';

/** Sidecar suffixes (lower case) → kind and, among previews, search rank (lower is preferred). */
const SUFFIXES = new Map<string, { kind: EntryKind; rank: number }>([
  ['.civitai.info', { kind: 'civitai_info', rank: 0 }],
  ['.json', { kind: 'json', rank: 0 }],
  ['.metadata.json', { kind: 'lm_metadata', rank: 0 }],
  ['.cm-info.json', { kind: 'cm_info', rank: 0 }],
  ['.safetensors.rgthree-info.json', { kind: 'rgthree_info', rank: 0 }],
  ['.txt', { kind: 'description_txt', rank: 0 }],
  ['.description.txt', { kind: 'description_txt', rank: 1 }],
]);
previewCandidates('').forEach((name, rank) => SUFFIXES.set(name.toLowerCase(), { kind: 'preview', rank }));

interface Entry {
  name: string;
  kind: EntryKind;
  rank: number;
  /** The stem as spelled in the file name, to prefer an exact-case match. */
  stem: string;
}

/**
 * The sidecars of one directory, grouped by the model stem they belong to. Built once per folder from its listing
 * (each name is split on its last one, two and three dots and the tails looked up), so finding a model's sidecars
 * is one map lookup instead of forty candidate names.
 */
export class DirectoryIndex {
  private readonly byStem = new Map<string, Entry[]>();

  constructor(names: Iterable<string>) {
    for (const name of names) {
      const lower = name.toLowerCase();
      let dot = lower.length;
      for (let segments = 1; segments <= 3; segments++) {
        dot = lower.lastIndexOf('.', dot - 1);
        if (dot <= 0) break;
        const hit = SUFFIXES.get(lower.slice(dot));
        if (!hit) continue;
        const stemLower = lower.slice(0, dot);
        const list = this.byStem.get(stemLower);
        const entry = { name, kind: hit.kind, rank: hit.rank, stem: name.slice(0, dot) };
        if (list) list.push(entry);
        else this.byStem.set(stemLower, [entry]);
      }
    }
  }

  entries(stem: string): readonly Entry[] {
    return this.byStem.get(stem.toLowerCase()) ?? [];
  }
}

/** The sidecars and the preview of `fileName` (a `.safetensors` in `dir`), in the conventions' precedence. */
export function findSidecars(dir: string, fileName: string, index: DirectoryIndex): SidecarSet {
  const stem = stemOf(fileName);
  const entries = index.entries(stem);
  if (entries.length === 0) return { sidecars: [], preview: null };
  // Exact-case spellings first, then by the order each convention is looked for.
  const best = new Map<string, Entry>();
  for (const e of entries) {
    const key = e.kind === 'preview' ? 'preview' : e.kind;
    const current = best.get(key);
    const better = !current || (e.stem === stem && current.stem !== stem) || (e.stem === stem) === (current.stem === stem) && e.rank < current.rank;
    if (better) best.set(key, e);
  }
  const order: Array<SidecarRef['kind']> = ['civitai_info', 'json', 'lm_metadata', 'cm_info', 'rgthree_info', 'description_txt'];
  const sidecars: SidecarRef[] = [];
  for (const kind of order) {
    const e = best.get(kind);
    if (e) sidecars.push({ kind, path: path.join(dir, e.name) });
  }
  const preview = best.get('preview');
  return { sidecars, preview: preview ? path.join(dir, preview.name) : null };
}

export function stemOf(fileName: string): string {
  return fileName.replace(/\.safetensors$/i, '');
}

export function isPreviewVideo(file: string): boolean {
  return VIDEO_EXTS.includes(path.extname(file).slice(1).toLowerCase());
}

/** What the sidecars say, merged. Every field is optional; `undefined` means no sidecar had it. */
export interface SidecarFacts {
  activationText?: string;
  /** 0 in A1111's file means "unset" and is left out. */
  preferredWeight?: number;
  negativeText?: string;
  notes?: string;
  description?: string;
  /** A1111 `sd version`: SD1, SD2, SDXL, SD3, Unknown. */
  sdVersion?: string;
  trainedWords: string[];
  tags: string[];
  /** CivitAI's spelling, e.g. "SDXL 1.0", "Pony". */
  baseModel?: string;
  modelName?: string;
  versionName?: string;
  author?: string;
  publishedAt?: string;
  nsfwLevel?: number;
  civitai: {
    modelId?: number;
    versionId?: number;
    /** `found` when a sidecar holds a CivitAI record, `not_found` for Civitai Helper's `{}` marker. */
    status?: 'found' | 'not_found';
    stats?: Record<string, unknown>;
    primaryFile?: { name?: string; sizeKb?: number; sha256?: string; downloadUrl?: string };
    /** The version record as CivitAI returned it, for the detail view. */
    version?: Record<string, unknown>;
  };
  /** The A1111 `NAME.json` in the model's folder, written back to when the user allows it. */
  a1111JsonPath?: string;
  /** Where each field came from, for the detail view. */
  sources: Partial<Record<string, SidecarKind>>;
  errors: Array<{ path: string; reason: string }>;
}

/** Sidecars are small; anything larger is not what we think it is. */
export const MAX_SIDECAR_BYTES = 16 * 1024 * 1024;

export function readSidecars(refs: readonly SidecarRef[], read: (file: string) => Buffer = readCapped): SidecarFacts {
  const facts: SidecarFacts = { trainedWords: [], tags: [], civitai: {}, sources: {}, errors: [] };
  // Highest precedence last: each parser only fills what is still empty, so parse in precedence order.
  const order: Array<SidecarRef['kind']> = ['json', 'description_txt', 'lm_metadata', 'civitai_info', 'cm_info', 'rgthree_info'];
  for (const kind of order) {
    for (const ref of refs.filter((r) => r.kind === kind)) {
      let text: string;
      try {
        text = read(ref.path).toString('utf8').replace(/^\uFEFF/, '');
      } catch (error) {
        facts.errors.push({ path: ref.path, reason: (error as Error).message });
        continue;
      }
      if (kind === 'description_txt') {
        fill(facts, 'description', text.trim() || undefined, 'description_txt');
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        facts.errors.push({ path: ref.path, reason: `not valid JSON: ${(error as Error).message}` });
        continue;
      }
      if (!isObject(json)) {
        facts.errors.push({ path: ref.path, reason: 'not a JSON object' });
        continue;
      }
      if (kind === 'json') readNameJson(facts, json, ref.path);
      else if (kind === 'lm_metadata') readLmMetadata(facts, json);
      else if (kind === 'civitai_info') readCivitaiInfo(facts, json);
      else if (kind === 'cm_info') readCmInfo(facts, json);
      else if (kind === 'rgthree_info') readRgthree(facts, json);
    }
  }
  return facts;
}

function readCapped(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size > MAX_SIDECAR_BYTES) throw new Error(`larger than ${MAX_SIDECAR_BYTES} bytes`);
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** Keys only A1111's user metadata has (a CivitAI model record has `description` too). */
const A1111_KEYS = ['activation text', 'preferred weight', 'negative text', 'notes', 'sd version'];

/** `NAME.json`: A1111's user metadata, SDNext's CivitAI model record, or both merged by some tool. Told apart by keys. */
function readNameJson(facts: SidecarFacts, json: Record<string, unknown>, file: string): void {
  const sdnext = Array.isArray(json.modelVersions);
  const a1111 = A1111_KEYS.some((k) => k in json) || (!sdnext && 'description' in json);
  if (a1111) {
    facts.a1111JsonPath = file;
    fill(facts, 'activationText', text(json['activation text']), 'a1111_json');
    const weight = number(json['preferred weight']);
    fill(facts, 'preferredWeight', weight === 0 ? undefined : weight, 'a1111_json');
    fill(facts, 'negativeText', text(json['negative text']), 'a1111_json');
    fill(facts, 'notes', text(json.notes), 'a1111_json');
    fill(facts, 'sdVersion', text(json['sd version']), 'a1111_json');
    if (!sdnext) fill(facts, 'description', text(json.description), 'a1111_json');
    const modelId = number(json.modelId);
    if (modelId !== undefined) fillCivitai(facts, { modelId });
  }
  if (sdnext) {
    fill(facts, 'description', stripHtml(text(json.description)), 'sdnext_json');
    fill(facts, 'modelName', text(json.name), 'sdnext_json');
    addAll(facts.tags, strings(json.tags));
    const creator = isObject(json.creator) ? text(json.creator.username) : undefined;
    fill(facts, 'author', creator, 'sdnext_json');
    const versions = (json.modelVersions as unknown[]).filter(isObject);
    const version = versions[0];
    if (version) {
      addAll(facts.trainedWords, strings(version.trainedWords));
      fill(facts, 'baseModel', text(version.baseModel), 'sdnext_json');
      fill(facts, 'versionName', text(version.name), 'sdnext_json');
      fillCivitai(facts, { modelId: number(json.id), versionId: number(version.id), status: 'found' });
    }
  }
}

/** ComfyUI-Lora-Manager `NAME.metadata.json`. `civitai` holds the version record; `usage_tips` is a JSON string. */
function readLmMetadata(facts: SidecarFacts, json: Record<string, unknown>): void {
  fill(facts, 'notes', text(json.notes), 'lm_metadata');
  fill(facts, 'description', stripHtml(text(json.modelDescription)), 'lm_metadata');
  const base = text(json.base_model);
  fill(facts, 'baseModel', base && base !== 'Unknown' ? base : undefined, 'lm_metadata');
  fill(facts, 'nsfwLevel', number(json.preview_nsfw_level) || undefined, 'lm_metadata');
  addAll(facts.tags, strings(json.tags));
  if (typeof json.usage_tips === 'string') {
    try {
      const tips: unknown = JSON.parse(json.usage_tips);
      if (isObject(tips)) fill(facts, 'preferredWeight', number(tips.strength) || undefined, 'lm_metadata');
    } catch {
      /* a malformed tip is not worth reporting */
    }
  }
  if (isObject(json.civitai) && Object.keys(json.civitai).length > 0) readVersion(facts, json.civitai, 'lm_metadata');
}

/** Civitai Helper `NAME.civitai.info`: the by-hash version record, or `{}` meaning "looked up, not on CivitAI". */
function readCivitaiInfo(facts: SidecarFacts, json: Record<string, unknown>): void {
  if (Object.keys(json).length === 0) {
    if (!facts.civitai.status) facts.civitai.status = 'not_found';
    return;
  }
  readVersion(facts, json, 'civitai_info');
}

/** A CivitAI model-version record (by-hash / model-versions/{id} shape). */
export function readVersion(facts: SidecarFacts, v: Record<string, unknown>, source: SidecarKind): void {
  addAll(facts.trainedWords, strings(v.trainedWords));
  fill(facts, 'baseModel', text(v.baseModel), source);
  fill(facts, 'versionName', text(v.name), source);
  fill(facts, 'publishedAt', isoTime(v.publishedAt) ?? isoTime(v.createdAt), source);
  const model = isObject(v.model) ? v.model : {};
  fill(facts, 'modelName', text(model.name), source);
  fill(facts, 'description', stripHtml(text(model.description) ?? text(v.description)), source);
  addAll(facts.tags, strings(model.tags));
  const creator = isObject(v.creator) ? v.creator : isObject(model.creator) ? model.creator : {};
  fill(facts, 'author', text(creator.username), source);
  fill(facts, 'nsfwLevel', number(v.nsfwLevel), source);
  const files = Array.isArray(v.files) ? v.files.filter(isObject) : [];
  const primary = files.find((f) => f.primary === true) ?? files[0];
  const hashes = primary && isObject(primary.hashes) ? primary.hashes : {};
  fillCivitai(facts, {
    modelId: number(v.modelId),
    versionId: number(v.id),
    status: 'found',
    stats: isObject(v.stats) ? v.stats : undefined,
    primaryFile: primary
      ? { name: text(primary.name), sizeKb: number(primary.sizeKB), sha256: text(hashes.SHA256)?.toLowerCase(), downloadUrl: text(primary.downloadUrl) }
      : undefined,
    version: v,
  });
}

/** StabilityMatrix `NAME.cm-info.json` (ConnectedModelInfo, PascalCase keys). */
function readCmInfo(facts: SidecarFacts, json: Record<string, unknown>): void {
  addAll(facts.trainedWords, strings(json.TrainedWords));
  addAll(facts.tags, strings(json.Tags));
  fill(facts, 'baseModel', text(json.BaseModel), 'cm_info');
  fill(facts, 'modelName', text(json.ModelName), 'cm_info');
  fill(facts, 'versionName', text(json.VersionName), 'cm_info');
  fill(facts, 'author', text(json.AuthorUsername), 'cm_info');
  fill(facts, 'description', stripHtml(text(json.ModelDescription)), 'cm_info');
  const hashes = isObject(json.Hashes) ? json.Hashes : {};
  fillCivitai(facts, {
    modelId: number(json.ModelId),
    versionId: number(json.VersionId),
    status: number(json.ModelId) !== undefined ? 'found' : undefined,
    primaryFile: text(hashes.SHA256) ? { sha256: text(hashes.SHA256)!.toLowerCase(), name: text(json.RemoteFileName) } : undefined,
  });
}

/** rgthree Power Lora Loader `NAME.safetensors.rgthree-info.json`. Trained words are `{word, …}` objects. */
function readRgthree(facts: SidecarFacts, json: Record<string, unknown>): void {
  if (Array.isArray(json.trainedWords)) {
    addAll(facts.trainedWords, json.trainedWords.map((w) => (isObject(w) ? text(w.word) : text(w))).filter((w): w is string => !!w));
  }
  fill(facts, 'baseModel', text(json.baseModel), 'rgthree_info');
  fill(facts, 'notes', text(json.userNote), 'rgthree_info');
  fill(facts, 'modelName', text(json.name), 'rgthree_info');
  const raw = isObject(json.raw) && isObject(json.raw.civitai) ? json.raw.civitai : isObject(json.civitai) ? json.civitai : null;
  if (raw && Object.keys(raw).length > 0) readVersion(facts, raw, 'rgthree_info');
}

function fill<K extends keyof SidecarFacts>(facts: SidecarFacts, key: K, value: SidecarFacts[K] | undefined, source: SidecarKind): void {
  if (value === undefined || facts[key] !== undefined) return;
  facts[key] = value;
  facts.sources[key] = source;
}

function fillCivitai(facts: SidecarFacts, values: SidecarFacts['civitai']): void {
  const c = facts.civitai;
  for (const [k, v] of Object.entries(values) as Array<[keyof SidecarFacts['civitai'], unknown]>) {
    if (v === undefined) continue;
    if (k === 'status' && c.status === 'not_found' && v === 'found') {
      c.status = 'found';
      continue;
    }
    if (c[k] === undefined) (c as Record<string, unknown>)[k] = v;
  }
}

function addAll(target: string[], values: readonly string[]): void {
  for (const v of values) {
    const t = v.trim();
    if (t && !target.some((x) => x.toLowerCase() === t.toLowerCase())) target.push(t);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const t = value.trim();
  return t === '' ? undefined : t;
}

function number(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function strings(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v) => (typeof v === 'string' ? [v] : isObject(v) && typeof v.name === 'string' ? [v.name] : []));
}

function isoTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** CivitAI descriptions are HTML; the catalogue stores text. */
export function stripHtml(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/[<&]/.test(value)) return value;
  const out = value
    .replace(/<(br|\/p|\/div|\/li|\/h\d)\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return out || undefined;
}

/**
 * Merge our values into an A1111 `NAME.json`: only the keys A1111 defines are written, every other key is kept,
 * the file is replaced atomically (write to a temporary name, then rename).
 */
export function mergeA1111Json(
  file: string,
  values: { activationText?: string | null; preferredWeight?: number | null; negativeText?: string | null; notes?: string | null; description?: string | null; sdVersion?: string | null },
): void {
  let current: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    const parsed: unknown = JSON.parse(readCapped(file).toString('utf8').replace(/^\uFEFF/, ''));
    if (!isObject(parsed)) throw new Error(`${file} is not a JSON object; not overwriting it`);
    current = parsed;
  }
  const set = (key: string, value: string | number | null | undefined) => {
    if (value !== undefined) current[key] = value ?? '';
  };
  set('description', values.description);
  set('sd version', values.sdVersion);
  set('activation text', values.activationText);
  if (values.preferredWeight !== undefined) current['preferred weight'] = values.preferredWeight ?? 0;
  set('negative text', values.negativeText);
  set('notes', values.notes);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(current, null, 4)}\n`, 'utf8');
  fs.renameSync(tmp, file);
}
