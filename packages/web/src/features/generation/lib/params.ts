import type { GenerationParams, Job } from '@lora-manager/contract';

/** The form's values: every field set, so the inputs are never empty. */
export interface GenerationForm {
  prompt: string;
  negative_prompt: string;
  steps: number;
  sampler_name: string;
  /** Empty: the server's choice for the sampler. */
  scheduler: string;
  cfg_scale: number;
  width: number;
  height: number;
  seed: number;
  batch_size: number;
  n_iter: number;
  checkpoint: string;
  clip_skip: number | null;
}

/** Until the selected server's defaults arrive (GET /generation/backends/:name/options): the server's built-in ones. */
export const DEFAULT_FORM: GenerationForm = {
  prompt: '',
  negative_prompt: 'lowres, bad anatomy, blurry, watermark',
  steps: 20,
  sampler_name: 'DPM++ 2M',
  scheduler: '',
  cfg_scale: 7,
  width: 512,
  height: 768,
  seed: -1,
  batch_size: 1,
  n_iter: 1,
  checkpoint: '',
  clip_skip: null,
};

export const SIZE_PRESETS = [
  { label: '512 × 512', width: 512, height: 512 },
  { label: '512 × 768 (portrait)', width: 512, height: 768 },
  { label: '768 × 512 (landscape)', width: 768, height: 512 },
  { label: '768 × 768', width: 768, height: 768 },
  { label: '1024 × 1024 (SDXL)', width: 1024, height: 1024 },
  { label: '832 × 1216 (SDXL portrait)', width: 832, height: 1216 },
  { label: '1216 × 832 (SDXL landscape)', width: 1216, height: 832 },
];

/** What is wrong with the form, field by field; empty when it can be sent. Mirrors the API's limits. */
export function validateForm(form: GenerationForm): Partial<Record<keyof GenerationForm, string>> {
  const errors: Partial<Record<keyof GenerationForm, string>> = {};
  if (!form.prompt.trim()) errors.prompt = 'Write a prompt, or compose one from your active LoRAs.';
  if (form.prompt.length > 20_000) errors.prompt = 'The prompt is longer than 20,000 characters.';
  if (!Number.isInteger(form.steps) || form.steps < 1 || form.steps > 150) errors.steps = 'Steps go from 1 to 150.';
  if (!(form.cfg_scale >= 1 && form.cfg_scale <= 30)) errors.cfg_scale = 'CFG goes from 1 to 30.';
  for (const key of ['width', 'height'] as const) {
    const v = form[key];
    if (!Number.isInteger(v) || v < 64 || v > 4096) errors[key] = 'From 64 to 4096 pixels.';
    else if (v % 8 !== 0) errors[key] = 'Must be a multiple of 8.';
  }
  if (!Number.isInteger(form.seed) || form.seed < -1) errors.seed = 'A whole number, or -1 for random.';
  if (!Number.isInteger(form.batch_size) || form.batch_size < 1 || form.batch_size > 8) errors.batch_size = 'From 1 to 8 images per batch.';
  if (!Number.isInteger(form.n_iter) || form.n_iter < 1 || form.n_iter > 20) errors.n_iter = 'From 1 to 20 batches.';
  if (!form.sampler_name.trim()) errors.sampler_name = 'Pick a sampler.';
  return errors;
}

/** The request body: empty optional fields are left out so the server's defaults apply. */
export function toParams(form: GenerationForm): GenerationParams {
  return {
    prompt: form.prompt.trim(),
    negative_prompt: form.negative_prompt.trim() || null,
    steps: form.steps,
    sampler_name: form.sampler_name,
    ...(form.scheduler.trim() ? { scheduler: form.scheduler.trim() } : {}),
    cfg_scale: form.cfg_scale,
    width: form.width,
    height: form.height,
    seed: form.seed,
    batch_size: form.batch_size,
    n_iter: form.n_iter,
    ...(form.checkpoint.trim() ? { checkpoint: form.checkpoint.trim() } : {}),
    ...(form.clip_skip ? { clip_skip: form.clip_skip } : {}),
  };
}

/** Back from stored parameters (a result's, a job's) to the form, keeping the form's value where one is missing. */
export function fromParams(params: Record<string, unknown>, base: GenerationForm = DEFAULT_FORM): GenerationForm {
  const num = (key: keyof GenerationForm) => (typeof params[key] === 'number' ? (params[key] as number) : (base[key] as number));
  const str = (key: keyof GenerationForm) => (typeof params[key] === 'string' ? (params[key] as string) : (base[key] as string));
  return {
    prompt: str('prompt'),
    negative_prompt: typeof params.negative_prompt === 'string' ? params.negative_prompt : params.negative_prompt === null ? '' : base.negative_prompt,
    steps: num('steps'),
    sampler_name: str('sampler_name'),
    scheduler: typeof params.scheduler === 'string' ? params.scheduler : params.scheduler === null ? '' : base.scheduler,
    cfg_scale: num('cfg_scale'),
    width: num('width'),
    height: num('height'),
    seed: num('seed'),
    batch_size: num('batch_size'),
    n_iter: num('n_iter'),
    checkpoint: typeof params.checkpoint === 'string' ? params.checkpoint : base.checkpoint,
    clip_skip: typeof params.clip_skip === 'number' ? params.clip_skip : base.clip_skip,
  };
}

export function isGenerationJob(job: Pick<Job, 'kind'>): boolean {
  return job.kind.startsWith('generation') || job.kind.startsWith('delivery');
}

/** The prompt a generation job was given, wherever its payload keeps it. */
export function jobPrompt(job: Pick<Job, 'payload'>): string {
  const p = job.payload as { prompt?: unknown; params?: { prompt?: unknown }; generation_params?: { prompt?: unknown } };
  const prompt = p.prompt ?? p.params?.prompt ?? p.generation_params?.prompt;
  return typeof prompt === 'string' ? prompt : '';
}
