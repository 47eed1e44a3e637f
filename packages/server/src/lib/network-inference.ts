import type { TensorInfo, TensorTable } from './safetensors.ts';
import { guessFor, type BaseModelGuess } from './base-models.ts';
import { nativeHeaderAddon } from './native-header-reader.ts';

/**
 * What the tensor names and shapes of a safetensors file say about it: is it a LoRA-family network at all, which
 * kind (LoRA, LoCon, LoHa, LoKr, DoRA, …), its rank, and which base model it was trained for. Key conventions
 * follow the loaders of A1111, ComfyUI and kohya sd-scripts (see reference/file-formats-and-apis.md §2.5–2.6).
 */
export type NetworkType = 'LoRA' | 'LoCon' | 'LoHa' | 'LoKr' | 'DoRA' | 'DyLoRA' | 'GLoRA' | 'OFT' | 'BOFT' | 'IA3' | 'Full' | 'Norm';
export type FileKind = 'lora' | 'checkpoint' | 'embedding' | 'unknown';

export interface TensorFacts {
  kind: FileKind;
  networkType: NetworkType | null;
  /** The most common rank across modules (ranks can differ per block). */
  rank: number | null;
  baseModel: BaseModelGuess | null;
  /** The first `.alpha` scalar, whose value the caller may read from the data when metadata has none. */
  alphaTensor: TensorInfo | null;
  moduleCount: number;
}


/** Counts per module kind while walking the names once. */
interface Tally {
  lora: number;
  conv: number;
  mid: number;
  loha: number;
  lokr: number;
  glora: number;
  oft: number;
  boft: number;
  ia3: number;
  full: number;
  norm: number;
  dora: number;
}

const KOHYA_DOWN = Buffer.from('.lora_down.weight', 'latin1');
const KOHYA_UP = Buffer.from('.lora_up.weight', 'latin1');
const ALPHA = Buffer.from('.alpha', 'latin1');

type SuffixKind = 'down' | 'up' | 'alpha' | 'mid' | 'loha' | 'lokr' | 'dora' | 'glora' | 'oft' | 'boft' | 'ia3' | 'full' | 'norm';

/** A tensor name's tail (see TensorTable.nameTail) → what it is. */
const TAILS = new Map<string, SuffixKind>([
  ['lora_down.weight', 'down'],
  ['lora_A.weight', 'down'],
  ['default.weight', 'down'], // lora_A.default.weight / lora_B.default.weight: told apart below
  ['down.weight', 'down'], // lora.down.weight, lora_linear_layer.down.weight, _lora.down.weight
  ['lora_up.weight', 'up'],
  ['lora_B.weight', 'up'],
  ['up.weight', 'up'],
  ['alpha', 'alpha'],
  ['lora_mid.weight', 'mid'],
  ['hada_w1_a', 'loha'],
  ['hada_w1_b', 'loha'],
  ['hada_w2_a', 'loha'],
  ['hada_w2_b', 'loha'],
  ['hada_t1', 'loha'],
  ['hada_t2', 'loha'],
  ['lokr_w1', 'lokr'],
  ['lokr_w1_a', 'lokr'],
  ['lokr_w1_b', 'lokr'],
  ['lokr_w2', 'lokr'],
  ['lokr_w2_a', 'lokr'],
  ['lokr_w2_b', 'lokr'],
  ['lokr_t2', 'lokr'],
  ['dora_scale', 'dora'],
  ['a1.weight', 'glora'],
  ['a2.weight', 'glora'],
  ['b1.weight', 'glora'],
  ['b2.weight', 'glora'],
  ['oft_blocks', 'oft'],
  ['oft_diag', 'oft'],
  ['oft_R', 'boft'],
  ['boft_R', 'boft'],
  ['on_input', 'ia3'],
  ['on_input.weight', 'ia3'],
  ['diff', 'full'],
  ['diff_b', 'full'],
  ['w_norm', 'norm'],
  ['b_norm', 'norm'],
]);

/**
 * What one walk over the tensors gathers; the facts follow from it alone. Files named the kohya way are walked by
 * the native reader when it is built (the same counters, several times faster); everything else by `walkTensors`.
 */
interface Evidence {
  tally: Tally;
  rank: number | null;
  /** The row of the first scalar `.alpha`, or -1. */
  alphaIndex: number;
  checkpointKeys: number;
  embeddingKeys: number;
  family: FamilyCounts;
}

/** Can the native walk take this table (addon built, every name kohya's)? For the differential test. */
export function takesNativeWalk(table: TensorTable): boolean {
  return nativeKohyaEvidence(table) !== null;
}

/** `native: false` walks in JavaScript even where the native walk could (the differential test compares both). */
export function inferFromTensors(table: TensorTable, options: { native?: boolean } = {}): TensorFacts {
  const evidence = (options.native !== false && nativeKohyaEvidence(table)) || walkTensors(table);
  const { tally, rank, alphaIndex, checkpointKeys, embeddingKeys, family } = evidence;
  const networkType = pickType(tally);
  const moduleCount = tally.lora + tally.loha / 4 + tally.lokr / 2 + tally.glora / 4 + tally.oft + tally.boft + tally.ia3 + tally.full;
  let kind: FileKind = 'unknown';
  if (networkType !== null) kind = 'lora';
  else if (checkpointKeys > 0) kind = 'checkpoint';
  else if (embeddingKeys > 0 && table.count <= 8) kind = 'embedding';
  return {
    kind,
    networkType,
    rank,
    baseModel: kind === 'lora' ? concludeFamily(family) : null,
    alphaTensor: alphaIndex >= 0 ? table.info(alphaIndex) : null,
    moduleCount: Math.round(moduleCount),
  };
}

function walkTensors(table: TensorTable): Evidence {
  const tally: Tally = { lora: 0, conv: 0, mid: 0, loha: 0, lokr: 0, glora: 0, oft: 0, boft: 0, ia3: 0, full: 0, norm: 0, dora: 0 };
  const ranks = new Map<number, number>();
  const family = new FamilyEvidence();
  let alphaIndex = -1;
  let checkpointKeys = 0;
  let embeddingKeys = 0;

  for (let i = 0; i < table.count; i++) {
    // kohya's three suffixes are nearly every name: recognise them from the bytes without building any string.
    let suffix: SuffixKind | undefined;
    let drop = 0;
    if (table.nameEndsWith(i, KOHYA_UP)) suffix = 'up';
    else if (table.nameEndsWith(i, ALPHA)) suffix = 'alpha';
    else if (table.nameEndsWith(i, KOHYA_DOWN)) {
      suffix = 'down';
      drop = KOHYA_DOWN.length;
    } else {
      const tail = table.nameTail(i);
      suffix = TAILS.get(tail);
      if (tail === 'default.weight') suffix = table.nameEndsWith(i, LORA_B_DEFAULT) ? 'up' : table.nameEndsWith(i, LORA_A_DEFAULT) ? 'down' : undefined;
      else if (tail === 'down.weight' || tail === 'up.weight') {
        // Only the LoRA spellings (`lora.down`, `lora_linear_layer.down`, `_lora.down`), not any layer called "down".
        const ok = table.nameEndsWith(i, tail === 'down.weight' ? LORA_DOT_DOWN : LORA_DOT_UP) || table.nameEndsWith(i, tail === 'down.weight' ? LINEAR_DOWN : LINEAR_UP) || table.nameEndsWith(i, tail === 'down.weight' ? UNDERSCORE_DOWN : UNDERSCORE_UP);
        if (!ok) suffix = undefined;
      }
      if (suffix !== undefined) drop = -1;
    }
    const ndim = table.ndim[i];
    switch (suffix) {
      case 'down':
        tally.lora++;
        count(ranks, table.dim(i, 0));
        if (ndim === 4 && (table.dim(i, 2) > 1 || table.dim(i, 3) > 1)) tally.conv++;
        family.observe(table, i, drop, table.dim(i, 1));
        break;
      case 'up':
        break;
      case 'alpha':
        if (alphaIndex < 0 && ndim === 0) alphaIndex = i;
        break;
      case 'mid':
        tally.mid++;
        break;
      case 'loha':
        tally.loha++;
        if (table.nameEndsWith(i, HADA_W1_B)) count(ranks, table.dim(i, 0));
        else if (table.nameEndsWith(i, HADA_W1_A)) family.observe(table, i, HADA_W1_A.length, undefined);
        break;
      case 'lokr':
        tally.lokr++;
        if (table.nameEndsWith(i, LOKR_W2_A) && ndim >= 2) count(ranks, table.dim(i, 1));
        else if (table.nameEndsWith(i, LOKR_W1)) family.observe(table, i, LOKR_W1.length, undefined);
        break;
      case 'dora':
        tally.dora++;
        break;
      case 'glora':
      case 'oft':
      case 'boft':
      case 'ia3':
      case 'full':
        tally[suffix]++;
        family.observe(table, i, -1, undefined);
        break;
      case 'norm':
        tally.norm++;
        break;
      default: {
        const name = table.name(i);
        if (isCheckpointKey(name)) checkpointKeys++;
        else if (isEmbeddingKey(name)) embeddingKeys++;
      }
    }
  }

  return { tally, rank: mode(ranks), alphaIndex, checkpointKeys, embeddingKeys, family: family.counts() };
}

const EVIDENCE = new Float64Array(21);

/** The kohya/LyCORIS walk in C (native/safetensors-header), or null when the addon is absent or a name is another kind. */
function nativeKohyaEvidence(table: TensorTable): Evidence | null {
  const addon = nativeHeaderAddon();
  const e = EVIDENCE;
  if (!addon?.kohyaEvidence(table.header, table.count, table.nameStart, table.nameEnd, table.nameEscaped, table.ndim, table.dims, e)) return null;
  // The order of the C enum EV_*.
  const orNull = (value: number) => (value > 0 ? value : null);
  return {
    tally: { lora: e[0], conv: e[1], mid: e[2], loha: e[3], lokr: e[4], dora: e[5], norm: e[6], glora: 0, oft: 0, boft: 0, ia3: 0, full: 0 },
    rank: orNull(e[7]),
    alphaIndex: e[8],
    checkpointKeys: 0,
    embeddingKeys: 0,
    family: {
      flux: e[9],
      maxDouble: e[10],
      maxSingle: e[11],
      sd3: e[12],
      sd3Width: e[13],
      sgm: e[14],
      te2: e[15],
      diffusersUnet: e[16],
      te1Only: e[17],
      wan: e[18],
      diffusersTransformer: 0,
      crossAttnWidth: orNull(e[19]),
      teWidth: orNull(e[20]),
    },
  };
}

const bytes = (text: string) => Buffer.from(text, 'latin1');
const LORA_A_DEFAULT = bytes('.lora_A.default.weight');
const LORA_B_DEFAULT = bytes('.lora_B.default.weight');
const LORA_DOT_DOWN = bytes('.lora.down.weight');
const LORA_DOT_UP = bytes('.lora.up.weight');
const LINEAR_DOWN = bytes('.lora_linear_layer.down.weight');
const LINEAR_UP = bytes('.lora_linear_layer.up.weight');
const UNDERSCORE_DOWN = bytes('_lora.down.weight');
const UNDERSCORE_UP = bytes('_lora.up.weight');
const HADA_W1_A = bytes('.hada_w1_a');
const HADA_W1_B = bytes('.hada_w1_b');
const LOKR_W1 = bytes('.lokr_w1');
const LOKR_W2_A = bytes('.lokr_w2_a');

function pickType(t: Tally): NetworkType | null {
  const lycoris: Array<[NetworkType, number]> = [
    ['LoHa', t.loha],
    ['LoKr', t.lokr],
    ['GLoRA', t.glora],
    ['OFT', t.oft],
    ['BOFT', t.boft],
    ['IA3', t.ia3],
    ['Full', t.full],
  ];
  lycoris.sort((a, b) => b[1] - a[1]);
  if (t.lora === 0 && lycoris[0][1] === 0) return t.norm > 0 ? 'Norm' : null;
  if (t.lora < lycoris[0][1]) return lycoris[0][0];
  if (t.dora > 0) return 'DoRA';
  return t.conv > 0 || t.mid > 0 ? 'LoCon' : 'LoRA';
}

const CHECKPOINT_PREFIXES = ['model.diffusion_model.', 'first_stage_model.', 'cond_stage_model.', 'conditioner.embedders.', 'model_ema.'];
function isCheckpointKey(name: string): boolean {
  return CHECKPOINT_PREFIXES.some((p) => name.startsWith(p));
}

function isEmbeddingKey(name: string): boolean {
  return name === 'emb_params' || name === 'clip_l' || name === 'clip_g' || name.startsWith('string_to_param');
}

const LORA_UNET = bytes('lora_unet_');
const LORA_TE = bytes('lora_te');
const TE1 = bytes('1_');
const TE2 = bytes('2_');
const MLP_FC1 = bytes('mlp_fc1');
const DOUBLE_BLOCKS = bytes('double_blocks_');
const SINGLE_BLOCKS = bytes('single_blocks_');
const JOINT_BLOCKS = bytes('joint_blocks_');
const X_BLOCK_QKV = bytes('x_block_attn_qkv');
const INPUT_BLOCKS = bytes('input_blocks_');
const OUTPUT_BLOCKS = bytes('output_blocks_');
const MIDDLE_BLOCK = bytes('middle_block_');
const DOWN_BLOCKS = bytes('down_blocks_');
const UP_BLOCKS = bytes('up_blocks_');
const MID_BLOCK = bytes('mid_block_');
const BLOCKS = bytes('blocks_');
const ATTN2_TO_K = bytes('attn2_to_k');
const ATTN2_TO_V = bytes('attn2_to_v');

function count(map: Map<number, number>, key: number | undefined): void {
  if (key === undefined || !Number.isFinite(key) || key <= 0) return;
  map.set(key, (map.get(key) ?? 0) + 1);
}

function mode(map: Map<number, number>): number | null {
  let best: number | null = null;
  let bestCount = 0;
  for (const [value, n] of map) {
    if (n > bestCount || (n === bestCount && best !== null && value > best)) {
      best = value;
      bestCount = n;
    }
  }
  return best;
}

/**
 * Base-model evidence from module names and the input width of cross-attention key projections
 * (768 SD1, 1024 SD2, 2048 SDXL) and transformer widths (3072 Flux, 1536/2432 SD3).
 */
class FamilyEvidence {
  private flux = 0;
  private maxDouble = -1;
  private maxSingle = -1;
  private sd3 = 0;
  private sd3Width = 0;
  private sgm = 0;
  private te2 = 0;
  private diffusersUnet = 0;
  private te1Only = 0;
  private wan = 0;
  private diffusersTransformer = 0;
  private crossAttnWidths = new Map<number, number>();
  private crossSamples = 0;
  private teWidths = new Map<number, number>();

  /**
   * Evidence from one module. `drop`: how many trailing bytes of the tensor name are the suffix (-1: unknown, use the
   * whole name); `inWidth`: the second dimension of a down projection (its input width), when there is one.
   */
  observe(table: TensorTable, i: number, drop: number, inWidth: number | undefined): void {
    // kohya names (`lora_unet_…`, `lora_te…`) say their block family right after the prefix: test the bytes there
    // instead of building and searching names, thousands of times per file.
    if (drop >= 0 && table.nameHasAt(i, 0, LORA_UNET)) {
      this.observeKohyaUnet(table, i, drop, inWidth);
      return;
    }
    if (drop >= 0 && table.nameHasAt(i, 0, LORA_TE)) {
      if (table.nameHasAt(i, 7, TE2)) this.te2++;
      else if (table.nameHasAt(i, 7, TE1)) this.te1Only++;
      else if (inWidth && this.teWidths.size < 4 && table.nameEndsWith(i, MLP_FC1, drop)) count(this.teWidths, inWidth);
      return;
    }
    this.observeOther(table.name(i), inWidth);
  }

  private observeKohyaUnet(table: TensorTable, i: number, drop: number, inWidth: number | undefined): void {
    const at = LORA_UNET.length;
    if (table.nameHasAt(i, at, DOUBLE_BLOCKS)) {
      this.flux++;
      this.maxDouble = Math.max(this.maxDouble, table.nameNumberAt(i, at + DOUBLE_BLOCKS.length));
    } else if (table.nameHasAt(i, at, SINGLE_BLOCKS)) {
      this.flux++;
      this.maxSingle = Math.max(this.maxSingle, table.nameNumberAt(i, at + SINGLE_BLOCKS.length));
    } else if (table.nameHasAt(i, at, JOINT_BLOCKS)) {
      this.sd3++;
      if (inWidth && this.sd3Width === 0 && table.nameEndsWith(i, X_BLOCK_QKV, drop)) this.sd3Width = inWidth;
    } else if (table.nameHasAt(i, at, INPUT_BLOCKS) || table.nameHasAt(i, at, OUTPUT_BLOCKS) || table.nameHasAt(i, at, MIDDLE_BLOCK)) {
      this.sgm++;
    } else if (table.nameHasAt(i, at, DOWN_BLOCKS) || table.nameHasAt(i, at, UP_BLOCKS) || table.nameHasAt(i, at, MID_BLOCK)) {
      this.diffusersUnet++;
      // A few cross-attention key/value projections settle SD1 (768) against SD2 (1024).
      if (inWidth && this.crossSamples < 8 && (table.nameEndsWith(i, ATTN2_TO_K, drop) || table.nameEndsWith(i, ATTN2_TO_V, drop))) {
        this.crossSamples++;
        count(this.crossAttnWidths, inWidth);
      }
    } else if (table.nameHasAt(i, at, BLOCKS)) {
      this.wan++;
    }
  }

  /** diffusers / PEFT / OneTrainer / ComfyUI names: rarer, so plain substring tests. */
  private observeOther(name: string, inWidth: number | undefined): void {
    if (name.includes('double_blocks')) {
      this.flux++;
      const m = /double_blocks[._](\d+)/.exec(name);
      if (m) this.maxDouble = Math.max(this.maxDouble, Number(m[1]));
      return;
    }
    if (name.includes('single_blocks') || name.includes('single_transformer_blocks')) {
      this.flux++;
      const m = /single_(?:transformer_)?blocks[._](\d+)/.exec(name);
      if (m) this.maxSingle = Math.max(this.maxSingle, Number(m[1]));
      return;
    }
    if (name.includes('joint_blocks')) {
      this.sd3++;
      return;
    }
    if (name.startsWith('transformer.transformer_blocks.') || name.startsWith('lora_transformer_transformer_blocks_')) {
      this.diffusersTransformer++;
      if (inWidth && (name.includes('.attn.to_q') || name.includes('_attn_to_q'))) this.sd3Width = inWidth;
      return;
    }
    if (/(^|\.)blocks\.\d+\.(cross_attn|self_attn)\./.test(name)) {
      this.wan++;
      return;
    }
    if (name.startsWith('text_encoder_2.')) {
      this.te2++;
      return;
    }
    if (name.includes('input_blocks') || name.includes('output_blocks') || name.includes('middle_block')) this.sgm++;
    else if (name.includes('down_blocks') || name.includes('up_blocks') || name.includes('mid_block')) this.diffusersUnet++;
    if (inWidth && (name.includes('attn2.to_k') || name.includes('attn2.to_v') || name.includes('attn2_to_k') || name.includes('attn2_to_v'))) {
      count(this.crossAttnWidths, inWidth);
    }
    if (inWidth && name.startsWith('text_encoder.') && name.includes('mlp.fc1')) count(this.teWidths, inWidth);
  }

  counts(): FamilyCounts {
    const { flux, maxDouble, maxSingle, sd3, sd3Width, sgm, te2, diffusersUnet, te1Only, wan, diffusersTransformer } = this;
    return { flux, maxDouble, maxSingle, sd3, sd3Width, sgm, te2, diffusersUnet, te1Only, wan, diffusersTransformer, crossAttnWidth: mode(this.crossAttnWidths), teWidth: mode(this.teWidths) };
  }
}

/** What the module names say about the base model, counted by FamilyEvidence (or the native kohya walk). */
interface FamilyCounts {
  flux: number;
  maxDouble: number;
  maxSingle: number;
  sd3: number;
  sd3Width: number;
  sgm: number;
  te2: number;
  diffusersUnet: number;
  te1Only: number;
  wan: number;
  diffusersTransformer: number;
  /** The most common input width of cross-attention key/value projections. */
  crossAttnWidth: number | null;
  /** The most common input width of the text encoder's first MLP layer. */
  teWidth: number | null;
}

function concludeFamily(c: FamilyCounts): BaseModelGuess | null {
  if (c.flux > 0) {
    // HunyuanVideo uses Flux's block names with 20 double and 40 single blocks; Flux has 19 and 38.
    if (c.maxDouble >= 19 || c.maxSingle >= 38) return guessFor('hunyuan-video', 'tensors');
    return guessFor('flux', 'tensors');
  }
  if (c.sd3 > 0 || c.diffusersTransformer > 0) {
    if (c.sd3Width === 2432) return guessFor('sd3', 'tensors', 'SD 3.5 Large');
    if (c.sd3 > 0 || c.sd3Width === 1536) return guessFor('sd3', 'tensors');
    return guessFor('other', 'tensors');
  }
  if (c.wan > 0) return guessFor('wan', 'tensors');
  const cross = c.crossAttnWidth;
  if (c.sgm > 0 || c.te2 > 0 || cross === 2048) return guessFor('sdxl', 'tensors');
  if (cross === 1024) return guessFor('sd2', 'tensors');
  if (cross === 768) return guessFor('sd1', 'tensors');
  const te = c.teWidth;
  if (te === 1024) return guessFor('sd2', 'tensors');
  if (te === 768 || c.diffusersUnet > 0) return guessFor('sd1', 'tensors');
  return null;
}
