import type { BackendOptions } from '@lora-manager/contract';
import { DEFAULT_FORM, type GenerationForm } from './params.ts';

export type ServerDefaults = BackendOptions['defaults'];

const BUILT_IN: ServerDefaults = { steps: DEFAULT_FORM.steps, sampler_name: DEFAULT_FORM.sampler_name, cfg_scale: DEFAULT_FORM.cfg_scale };

/**
 * The server's defaults (Settings → Generation) in the fields the user has not changed: a field still at the
 * defaults applied last time (the built-in ones before any) follows the server; a value the user chose stays.
 */
export function applyServerDefaults(form: GenerationForm, next: ServerDefaults, previous: ServerDefaults | null): GenerationForm {
  const before = previous ?? BUILT_IN;
  return {
    ...form,
    steps: form.steps === before.steps ? next.steps : form.steps,
    sampler_name: form.sampler_name === before.sampler_name ? next.sampler_name : form.sampler_name,
    cfg_scale: form.cfg_scale === before.cfg_scale ? next.cfg_scale : form.cfg_scale,
  };
}

/** Choices for a select: the server's list, with the current value kept (it may come from "use these parameters again"). */
export function choices(list: readonly string[], current: string): Array<{ label: string; value: string }> {
  const names = current && !list.includes(current) ? [current, ...list] : [...list];
  return names.map((name) => ({ label: name, value: name }));
}
