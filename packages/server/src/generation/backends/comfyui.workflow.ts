import type { ResolvedGenerationParams } from '@lora-manager/contract';

/** ComfyUI API-format graph: node id → {class_type, inputs}; a link is [node id, output index]. */
export type ComfyGraph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export interface ComfyLora {
  /** File name as ComfyUI lists it (relative to its loras folder). */
  file: string;
  strengthModel: number;
  strengthClip: number;
}

/** A1111 sampler names → ComfyUI sampler and scheduler. Names ComfyUI already uses pass through. */
const SAMPLERS: Record<string, [string, string | null]> = {
  euler: ['euler', null],
  'euler a': ['euler_ancestral', null],
  heun: ['heun', null],
  lms: ['lms', null],
  'lms karras': ['lms', 'karras'],
  dpm2: ['dpm_2', null],
  'dpm2 a': ['dpm_2_ancestral', null],
  'dpm++ 2s a': ['dpmpp_2s_ancestral', null],
  'dpm++ 2m': ['dpmpp_2m', null],
  'dpm++ 2m karras': ['dpmpp_2m', 'karras'],
  'dpm++ sde': ['dpmpp_sde', null],
  'dpm++ sde karras': ['dpmpp_sde', 'karras'],
  'dpm++ 2m sde': ['dpmpp_2m_sde', null],
  'dpm++ 2m sde karras': ['dpmpp_2m_sde', 'karras'],
  'dpm++ 3m sde': ['dpmpp_3m_sde', null],
  'dpm fast': ['dpm_fast', null],
  'dpm adaptive': ['dpm_adaptive', null],
  ddim: ['ddim', 'ddim_uniform'],
  plms: ['euler', null],
  unipc: ['uni_pc', null],
  lcm: ['lcm', null],
};

const SCHEDULERS: Record<string, string> = {
  automatic: 'normal',
  karras: 'karras',
  exponential: 'exponential',
  'sgm uniform': 'sgm_uniform',
  simple: 'simple',
  'ddim uniform': 'ddim_uniform',
  beta: 'beta',
};

export function comfySampler(samplerName: string, scheduler: string | null): { sampler: string; scheduler: string } {
  const mapped = SAMPLERS[samplerName.trim().toLowerCase()];
  const sampler = mapped ? mapped[0] : samplerName.trim();
  const fromScheduler = scheduler ? (SCHEDULERS[scheduler.trim().toLowerCase()] ?? scheduler.trim()) : null;
  return { sampler, scheduler: fromScheduler ?? mapped?.[1] ?? 'normal' };
}

/** Checkpoint → LoraLoader chain → prompts → KSampler → VAE decode → SaveImage. */
export function buildTxt2ImgGraph(input: {
  params: ResolvedGenerationParams;
  positive: string;
  checkpoint: string;
  loras: readonly ComfyLora[];
  seed: number;
  filenamePrefix: string;
}): ComfyGraph {
  const { params } = input;
  const graph: ComfyGraph = {
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: input.checkpoint } },
  };
  let model: [string, number] = ['1', 0];
  let clip: [string, number] = ['1', 1];
  input.loras.forEach((lora, i) => {
    const id = String(100 + i);
    graph[id] = {
      class_type: 'LoraLoader',
      inputs: { model, clip, lora_name: lora.file, strength_model: lora.strengthModel, strength_clip: lora.strengthClip },
    };
    model = [id, 0];
    clip = [id, 1];
  });
  if (params.clip_skip && params.clip_skip > 1) {
    graph['2'] = { class_type: 'CLIPSetLastLayer', inputs: { clip, stop_at_clip_layer: -params.clip_skip } };
    clip = ['2', 0];
  }
  const { sampler, scheduler } = comfySampler(params.sampler_name, params.scheduler);
  graph['3'] = { class_type: 'CLIPTextEncode', inputs: { text: input.positive, clip } };
  graph['4'] = { class_type: 'CLIPTextEncode', inputs: { text: params.negative_prompt ?? '', clip } };
  graph['5'] = { class_type: 'EmptyLatentImage', inputs: { width: params.width, height: params.height, batch_size: params.batch_size } };
  graph['6'] = {
    class_type: 'KSampler',
    inputs: {
      seed: input.seed,
      steps: params.steps,
      cfg: params.cfg_scale,
      sampler_name: sampler,
      scheduler,
      denoise: 1,
      model,
      positive: ['3', 0],
      negative: ['4', 0],
      latent_image: ['5', 0],
    },
  };
  graph['7'] = { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['1', 2] } };
  graph['8'] = { class_type: 'SaveImage', inputs: { images: ['7', 0], filename_prefix: input.filenamePrefix } };
  return graph;
}

/**
 * The file ComfyUI knows for a LoRA: its path relative to the library root, its file name, or its name with
 * `.safetensors`, compared case-insensitively and with either path separator, then by file stem.
 */
export function matchLoraFile(available: readonly string[], candidates: ReadonlyArray<string | null>): string | null {
  const norm = (s: string) => s.replace(/\\/g, '/').toLowerCase();
  const stem = (s: string) => norm(s).replace(/^.*\//, '').replace(/\.[^.]+$/, '');
  const wanted = candidates.filter((c): c is string => !!c);
  for (const c of wanted) {
    const hit = available.find((a) => norm(a) === norm(c));
    if (hit) return hit;
  }
  for (const c of wanted) {
    const hit = available.find((a) => norm(a).endsWith(`/${norm(c).replace(/^.*\//, '')}`) || stem(a) === stem(c));
    if (hit) return hit;
  }
  return null;
}
