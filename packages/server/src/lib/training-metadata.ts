import { fromKohyaVersion, fromModelspecArchitecture, guessFor, refineByCheckpointName, type BaseModelGuess } from './base-models.ts';
import type { NetworkType } from './network-inference.ts';

/**
 * The `__metadata__` map of a LoRA mapped to fields. kohya sd-scripts writes every value with Python `str()`
 * (`"None"`, `"True"`, `"(512, 512)"`, JSON-dumped objects), modelspec writes plain strings, and
 * sd-webui-additional-networks writes `ssmd_*` user keys. Anything may be missing or malformed: each field is
 * parsed on its own and a bad one is left null, never an error.
 */
export interface TrainingInfo {
  outputName: string | null;
  title: string | null;
  author: string | null;
  description: string | null;
  license: string | null;
  version: string | null;
  sourceUrl: string | null;
  baseModel: BaseModelGuess | null;
  sdModelName: string | null;
  networkModule: string | null;
  networkArgs: Record<string, string> | null;
  /** A network type named by the metadata (lycoris `algo`, dylora, oft, dora_wd); null when it says nothing special. */
  networkTypeHint: NetworkType | null;
  rank: number | null;
  alpha: number | null;
  resolution: string | null;
  /** Caption tags summed over every dataset folder, most frequent first. */
  tagFrequency: Array<{ tag: string; count: number }>;
  datasets: Array<{ name: string; repeats: number | null; images: number | null }>;
  suggestedTriggers: string[];
  tags: string[];
  negativeText: string | null;
  epochs: number | null;
  steps: number | null;
  trainingStartedAt: string | null;
  trainingFinishedAt: string | null;
  trainingComment: string | null;
  /** kohya's tensor-data SHA-256 (AutoV3 source), lower-case, when it looks like one. */
  embeddedDataHash: string | null;
  embeddedLegacyHash: string | null;
  /** modelspec.hash_sha256 without its `0x`. */
  modelspecHash: string | null;
  /** An embedded cover image (data URL) is present: modelspec.thumbnail or ssmd_cover_images. */
  hasEmbeddedThumbnail: boolean;
}

/** Keys whose values are embedded images: kept out of stored metadata rows and API listings. */
export const EMBEDDED_IMAGE_KEYS = ['modelspec.thumbnail', 'ssmd_cover_images'] as const;
/** SHA-256 of nothing: what some repackaging tools write as a hash; it identifies no file. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_TAGS = 2000;

export function readTrainingMetadata(meta: Readonly<Record<string, string>> | null): TrainingInfo {
  const m = meta ?? {};
  const str = (key: string): string | null => {
    const v = m[key];
    if (typeof v !== 'string') return null;
    const t = v.trim();
    return t === '' || t === 'None' || t === 'null' ? null : t;
  };
  const num = (key: string): number | null => {
    const v = str(key);
    if (v === null) return null;
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  };

  const networkArgs = parseStringMap(str('ss_network_args'));
  const tagFrequency = parseTagFrequency(str('ss_tag_frequency'));
  const datasets = parseDatasets(str('ss_dataset_dirs'));
  const sdModelName = str('ss_sd_model_name');

  let baseModel: BaseModelGuess | null = null;
  const kohyaVersion = str('ss_base_model_version');
  if (kohyaVersion) baseModel = fromKohyaVersion(kohyaVersion);
  const architecture = str('modelspec.architecture');
  if (!baseModel && architecture) baseModel = fromModelspecArchitecture(architecture);
  if (!baseModel && str('ss_v2') === 'True') baseModel = guessFor('sd2', 'ss_v2');
  baseModel = refineByCheckpointName(baseModel, sdModelName);

  const rank = num('ss_network_dim');
  const dataHash = normaliseHash(str('sshs_model_hash'));
  const specHash = normaliseHash(str('modelspec.hash_sha256'));
  return {
    outputName: str('ss_output_name'),
    title: str('ssmd_display_name') ?? nonDefaultTitle(str('modelspec.title')),
    author: str('ssmd_author') ?? str('modelspec.author'),
    description: str('ssmd_description') ?? str('modelspec.description'),
    license: str('modelspec.license'),
    version: str('ssmd_version'),
    sourceUrl: str('ssmd_source'),
    baseModel,
    sdModelName,
    networkModule: str('ss_network_module'),
    networkArgs,
    networkTypeHint: networkTypeFromMetadata(str('ss_network_module'), networkArgs),
    rank: rank !== null && Number.isInteger(rank) && rank > 0 ? rank : null,
    alpha: num('ss_network_alpha'),
    resolution: parseResolution(str('ss_resolution')) ?? parseResolution(str('modelspec.resolution')),
    tagFrequency,
    datasets,
    suggestedTriggers: suggestTriggers(m, str, datasets, tagFrequency),
    tags: splitList(str('modelspec.tags')).concat(splitList(str('ssmd_tags'))),
    negativeText: str('ssmd_negative_keywords'),
    epochs: num('ss_epoch') ?? num('ss_num_epochs'),
    steps: num('ss_steps') ?? num('ss_max_train_steps'),
    trainingStartedAt: unixToIso(num('ss_training_started_at')),
    trainingFinishedAt: unixToIso(num('ss_training_finished_at')),
    trainingComment: str('ss_training_comment'),
    embeddedDataHash: dataHash === EMPTY_SHA256 ? null : dataHash,
    embeddedLegacyHash: /^[0-9a-f]{8}$/i.test(str('sshs_legacy_hash') ?? '') ? str('sshs_legacy_hash')!.toLowerCase() : null,
    modelspecHash: specHash === EMPTY_SHA256 ? null : specHash,
    hasEmbeddedThumbnail: EMBEDDED_IMAGE_KEYS.some((k) => typeof m[k] === 'string' && m[k].length > 0),
  };
}

/** kohya titles default to `LoRA@<unix time>`: not a name anyone chose. */
function nonDefaultTitle(title: string | null): string | null {
  return title && !/^LoRA@\d+$/.test(title) ? title : null;
}

function normaliseHash(value: string | null): string | null {
  if (!value) return null;
  const hex = value.replace(/^0x/i, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

function unixToIso(seconds: number | null): string | null {
  if (seconds === null || seconds <= 0 || seconds > 32503680000) return null;
  return new Date(seconds * 1000).toISOString();
}

function parseJson(text: string | null): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseStringMap(text: string | null): Record<string, string> | null {
  const value = parseJson(text);
  if (!isObject(value)) return null;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** `{"10_name": {"tag": 12, …}, …}` summed per tag (tags trimmed; counts must be numbers). */
export function parseTagFrequency(text: string | null): Array<{ tag: string; count: number }> {
  const value = parseJson(text);
  if (!isObject(value)) return [];
  const totals = new Map<string, number>();
  for (const folder of Object.values(value)) {
    if (!isObject(folder)) continue;
    for (const [rawTag, rawCount] of Object.entries(folder)) {
      const tag = rawTag.trim();
      const n = typeof rawCount === 'number' ? rawCount : Number(rawCount);
      if (!tag || !Number.isFinite(n) || n <= 0) continue;
      totals.set(tag, (totals.get(tag) ?? 0) + n);
    }
  }
  return [...totals]
    .map(([tag, count]) => ({ tag, count }))
    .sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : 1))
    .slice(0, MAX_TAGS);
}

function parseDatasets(text: string | null): TrainingInfo['datasets'] {
  const value = parseJson(text);
  if (!isObject(value)) return [];
  return Object.entries(value).map(([name, info]) => {
    const o = isObject(info) ? info : {};
    const int = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return { name, repeats: int(o.n_repeats), images: int(o.img_count) };
  });
}

/** `(512, 512)`, `[512, 768]`, `512x768`, `512` → `512x768`-style text. */
export function parseResolution(text: string | null): string | null {
  if (!text) return null;
  const numbers = text.match(/\d+/g);
  if (!numbers || numbers.length > 2) return null;
  const [w, h = w] = numbers.map(Number);
  if (w <= 0 || h <= 0 || w > 65536 || h > 65536) return null;
  return `${w}x${h}`;
}

function splitList(text: string | null): string[] {
  if (!text) return [];
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

function networkTypeFromMetadata(module: string | null, args: Record<string, string> | null): NetworkType | null {
  if (args && /^true$/i.test(args.dora_wd ?? '')) return 'DoRA';
  if (!module) return null;
  if (module === 'networks.dylora') return 'DyLoRA';
  if (module === 'networks.oft' || module === 'networks.oft_flux') return 'OFT';
  if (module.startsWith('lycoris')) {
    const algo = (args?.algo ?? 'lora').toLowerCase();
    const byAlgo: Record<string, NetworkType> = {
      lora: 'LoCon',
      locon: 'LoCon',
      loha: 'LoHa',
      lokr: 'LoKr',
      ia3: 'IA3',
      dylora: 'DyLoRA',
      glora: 'GLoRA',
      full: 'Full',
      'diag-oft': 'OFT',
      oft: 'OFT',
      boft: 'BOFT',
    };
    return byAlgo[algo] ?? null;
  }
  if (args?.conv_dim && Number(args.conv_dim) > 0) return 'LoCon';
  return null;
}

/** Caption tags so common in datasets that they never identify a LoRA. */
const GENERIC_TAGS = new Set([
  '1girl', '1boy', '2girls', 'solo', 'looking at viewer', 'smile', 'simple background', 'white background', 'upper body',
  'long hair', 'short hair', 'blush', 'open mouth', 'breasts', 'full body', 'standing', 'outdoors', 'indoors', 'realistic',
  'photorealistic', 'masterpiece', 'best quality', 'high quality', 'a photo of', 'portrait', 'no humans', 'closed mouth',
]);

/**
 * Trigger words worth suggesting, best first: the trainer's explicit ones (modelspec trigger phrase, additional
 * networks keywords, dataset class tokens), the token of kohya `N_token` folder names, then caption tags present in
 * every image of the dataset that are not generic.
 */
function suggestTriggers(
  m: Readonly<Record<string, string>>,
  str: (key: string) => string | null,
  datasets: TrainingInfo['datasets'],
  tags: Array<{ tag: string; count: number }>,
): string[] {
  const out: string[] = [];
  const add = (word: string | null | undefined) => {
    const w = word?.trim();
    if (w && w.length <= 100 && !out.some((o) => o.toLowerCase() === w.toLowerCase())) out.push(w);
  };
  splitList(str('modelspec.trigger_phrase')).forEach(add);
  splitList(str('ssmd_keywords')).forEach(add);
  const configured = parseJson(typeof m.ss_datasets === 'string' ? m.ss_datasets : null);
  if (Array.isArray(configured)) {
    for (const d of configured) {
      if (!isObject(d) || !Array.isArray(d.subsets)) continue;
      for (const s of d.subsets) if (isObject(s) && typeof s.class_tokens === 'string') add(s.class_tokens);
    }
  }
  for (const d of datasets) {
    const token = /^\d+_(.+)$/.exec(d.name)?.[1];
    if (token) add(token);
  }
  const images = datasets.reduce((sum, d) => sum + (d.images ?? 0), 0);
  if (images > 0) {
    for (const { tag, count } of tags.slice(0, 20)) {
      if (count >= images && !GENERIC_TAGS.has(tag.toLowerCase())) add(tag);
    }
  }
  return out.slice(0, 10);
}
