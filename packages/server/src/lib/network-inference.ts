import type { TensorInfo, TensorTable } from './safetensors.ts';
import { guessFor, type BaseModelGuess } from './base-models.ts';

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

const DOWN_SUFFIXES = ['.lora_down.weight', '.lora_A.weight', '.lora_A.default.weight', '.lora.down.weight', '.lora_linear_layer.down.weight', '_lora.down.weight'];
const UP_SUFFIXES = ['.lora_up.weight', '.lora_B.weight', '.lora_B.default.weight', '.lora.up.weight', '.lora_linear_layer.up.weight', '_lora.up.weight'];

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

export function inferFromTensors(table: TensorTable): TensorFacts {
  const tally: Tally = { lora: 0, conv: 0, mid: 0, loha: 0, lokr: 0, glora: 0, oft: 0, boft: 0, ia3: 0, full: 0, norm: 0, dora: 0 };
  const ranks = new Map<number, number>();
  const family = new FamilyEvidence();
  let alphaIndex = -1;
  let checkpointKeys = 0;
  let embeddingKeys = 0;

  for (let i = 0; i < table.count; i++) {
    // kohya's three suffixes are nearly every name: recognise them from the bytes, and build strings only for
    // the down projections (a third of the names), whose module names carry the base-model evidence.
    let suffix: SuffixKind;
    let name: string | null = null;
    if (table.nameEndsWith(i, KOHYA_UP)) suffix = 'up';
    else if (table.nameEndsWith(i, ALPHA)) suffix = 'alpha';
    else if (table.nameEndsWith(i, KOHYA_DOWN)) suffix = 'down';
    else suffix = suffixKind((name = table.name(i)));
    const ndim = table.ndim[i];
    switch (suffix) {
      case 'down':
        tally.lora++;
        count(ranks, table.dim(i, 0));
        if (ndim === 4 && (table.dim(i, 2) > 1 || table.dim(i, 3) > 1)) tally.conv++;
        family.observe(name ?? table.name(i), table.dim(i, 1));
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
        if (name!.endsWith('.hada_w1_b')) count(ranks, table.dim(i, 0));
        if (name!.endsWith('.hada_w1_a')) family.observe(name!, undefined);
        break;
      case 'lokr':
        tally.lokr++;
        if (name!.endsWith('.lokr_w2_a') && ndim >= 2) count(ranks, table.dim(i, 1));
        if (name!.endsWith('.lokr_w1') || name!.endsWith('.lokr_w1_a')) family.observe(name!, undefined);
        break;
      case 'dora':
        tally.dora++;
        break;
      case 'glora':
        tally.glora++;
        family.observe(name!, undefined);
        break;
      case 'oft':
        tally.oft++;
        family.observe(name!, undefined);
        break;
      case 'boft':
        tally.boft++;
        family.observe(name!, undefined);
        break;
      case 'ia3':
        tally.ia3++;
        family.observe(name!, undefined);
        break;
      case 'full':
        tally.full++;
        family.observe(name!, undefined);
        break;
      case 'norm':
        tally.norm++;
        break;
      default:
        if (isCheckpointKey(name!)) checkpointKeys++;
        else if (isEmbeddingKey(name!)) embeddingKeys++;
    }
  }

  const networkType = pickType(tally);
  const moduleCount = tally.lora + tally.loha / 4 + tally.lokr / 2 + tally.glora / 4 + tally.oft + tally.boft + tally.ia3 + tally.full;
  let kind: FileKind = 'unknown';
  if (networkType !== null) kind = 'lora';
  else if (checkpointKeys > 0) kind = 'checkpoint';
  else if (embeddingKeys > 0 && table.count <= 8) kind = 'embedding';
  return {
    kind,
    networkType,
    rank: mode(ranks),
    baseModel: kind === 'lora' ? family.conclude() : null,
    alphaTensor: alphaIndex >= 0 ? table.info(alphaIndex) : null,
    moduleCount: Math.round(moduleCount),
  };
}

type SuffixKind = 'down' | 'up' | 'alpha' | 'mid' | 'loha' | 'lokr' | 'dora' | 'glora' | 'oft' | 'boft' | 'ia3' | 'full' | 'norm' | null;

function suffixKind(name: string): SuffixKind {
  // The two kohya suffixes cover most names; test them before the long list.
  if (name.endsWith('.lora_down.weight')) return 'down';
  if (name.endsWith('.lora_up.weight')) return 'up';
  if (name.endsWith('.alpha')) return 'alpha';
  for (const s of DOWN_SUFFIXES) if (name.endsWith(s)) return 'down';
  for (const s of UP_SUFFIXES) if (name.endsWith(s)) return 'up';
  const dot = name.lastIndexOf('.');
  const last = dot >= 0 ? name.slice(dot + 1) : name;
  if (last === 'weight' || last === 'bias') {
    const prev = name.slice(name.lastIndexOf('.', dot - 1) + 1, dot);
    if (prev === 'lora_mid') return 'mid';
    if (prev === 'a1' || prev === 'a2' || prev === 'b1' || prev === 'b2') return 'glora';
    if (prev === 'on_input') return 'ia3';
    return null;
  }
  if (last.startsWith('hada_')) return 'loha';
  if (last.startsWith('lokr_')) return 'lokr';
  if (last === 'dora_scale') return 'dora';
  if (last === 'oft_blocks' || last === 'oft_diag') return 'oft';
  if (last === 'oft_R' || last === 'boft_R') return 'boft';
  if (last === 'on_input') return 'ia3';
  if (last === 'diff' || last === 'diff_b') return 'full';
  if (last === 'w_norm' || last === 'b_norm') return 'norm';
  return null;
}

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
  private teWidths = new Map<number, number>();

  /** `inWidth`: the second dimension of a down projection (its input width), when there is one. */
  observe(name: string, inWidth: number | undefined): void {
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
      if (inWidth && name.includes('x_block_attn_qkv')) this.sd3Width = inWidth;
      return;
    }
    if (name.startsWith('transformer.transformer_blocks.') || name.startsWith('lora_transformer_transformer_blocks_')) {
      this.diffusersTransformer++;
      if (inWidth && (name.includes('.attn.to_q.') || name.includes('_attn_to_q'))) this.sd3Width = inWidth;
      return;
    }
    if (name.startsWith('lora_unet_blocks_') || /(^|\.)blocks\.\d+\.(cross_attn|self_attn)\./.test(name)) {
      this.wan++;
      return;
    }
    if (name.startsWith('lora_te2_') || name.startsWith('text_encoder_2.')) {
      this.te2++;
      return;
    }
    if (name.includes('input_blocks') || name.includes('output_blocks') || name.includes('middle_block')) {
      this.sgm++;
    } else if (name.includes('down_blocks') || name.includes('up_blocks') || name.includes('mid_block')) {
      this.diffusersUnet++;
    }
    if (inWidth && (name.includes('attn2_to_k') || name.includes('attn2.to_k') || name.includes('attn2_to_v') || name.includes('attn2.to_v'))) {
      count(this.crossAttnWidths, inWidth);
    }
    if (name.startsWith('lora_te1_')) this.te1Only++;
    if (inWidth && (name.startsWith('lora_te_') || name.startsWith('text_encoder.')) && (name.includes('mlp_fc1') || name.includes('mlp.fc1'))) {
      count(this.teWidths, inWidth);
    }
  }

  conclude(): BaseModelGuess | null {
    if (this.flux > 0) {
      // HunyuanVideo uses Flux's block names with 20 double and 40 single blocks; Flux has 19 and 38.
      if (this.maxDouble >= 19 || this.maxSingle >= 38) return guessFor('hunyuan-video', 'tensors');
      return guessFor('flux', 'tensors');
    }
    if (this.sd3 > 0 || this.diffusersTransformer > 0) {
      if (this.sd3Width === 2432) return guessFor('sd3', 'tensors', 'SD 3.5 Large');
      if (this.sd3 > 0 || this.sd3Width === 1536) return guessFor('sd3', 'tensors');
      return guessFor('other', 'tensors');
    }
    if (this.wan > 0) return guessFor('wan', 'tensors');
    const cross = mode(this.crossAttnWidths);
    if (this.sgm > 0 || this.te2 > 0 || cross === 2048) return guessFor('sdxl', 'tensors');
    if (cross === 1024) return guessFor('sd2', 'tensors');
    if (cross === 768) return guessFor('sd1', 'tensors');
    const te = mode(this.teWidths);
    if (te === 1024) return guessFor('sd2', 'tensors');
    if (te === 768 || this.diffusersUnet > 0) return guessFor('sd1', 'tensors');
    return null;
  }
}
