import type { GenerationSettings, GenerationSettingsPatch } from '@lora-manager/contract';
import type { GenerationConfig } from '../config.ts';
import type { Clock } from '../lib/clock.ts';
import { toIso } from '../lib/time.ts';
import type { SettingRepository } from '../repositories/setting.repository.ts';

const KEY = 'generation.servers';

interface Saved {
  sdnext?: Partial<Record<'base_url' | 'username' | 'password' | 'default_sampler', string>> &
    Partial<Record<'timeout_seconds' | 'default_steps' | 'default_cfg_scale', number>>;
  comfyui?: Partial<Record<'base_url' | 'checkpoint', string>> & Partial<Record<'timeout_seconds', number>>;
}

/** The generation server settings in force: saved values (from the web page) over configuration over defaults. */
export interface EffectiveGenerationSettings {
  sdnext: {
    baseUrl: string | null;
    username: string | null;
    password: string | null;
    timeoutMs: number;
    defaultSteps: number;
    defaultSampler: string;
    defaultCfgScale: number;
  };
  comfyui: { baseUrl: string | null; checkpoint: string | null; timeoutMs: number };
}

/**
 * Generation server settings. Configuration (SDNEXT_*, COMFYUI_*) gives the starting values; the settings route can
 * override them at run time, stored in the database so every process (API and workers) sees the same servers.
 */
export class GenerationSettingsService {
  constructor(
    private readonly config: GenerationConfig,
    private readonly settings: SettingRepository,
    private readonly clock: Clock,
  ) {}

  private async saved(): Promise<Saved> {
    return (await this.settings.get<Saved>(KEY)) ?? {};
  }

  async effective(): Promise<EffectiveGenerationSettings> {
    const saved = await this.saved();
    const s = saved.sdnext ?? {};
    const c = saved.comfyui ?? {};
    const env = this.config;
    return {
      sdnext: {
        baseUrl: s.base_url ?? env.sdnext.baseUrl,
        username: s.username ?? env.sdnext.username,
        password: s.password ?? env.sdnext.password,
        timeoutMs: s.timeout_seconds !== undefined ? Math.round(s.timeout_seconds * 1000) : env.sdnext.timeoutMs,
        defaultSteps: s.default_steps ?? env.sdnext.defaultSteps,
        defaultSampler: s.default_sampler ?? env.sdnext.defaultSampler,
        defaultCfgScale: s.default_cfg_scale ?? env.sdnext.defaultCfgScale,
      },
      comfyui: {
        baseUrl: c.base_url ?? env.comfyui.baseUrl,
        checkpoint: c.checkpoint ?? env.comfyui.checkpoint,
        timeoutMs: c.timeout_seconds !== undefined ? Math.round(c.timeout_seconds * 1000) : env.comfyui.timeoutMs,
      },
    };
  }

  async get(): Promise<GenerationSettings> {
    const saved = await this.saved();
    const e = await this.effective();
    const sources: GenerationSettings['sources'] = {};
    const env = this.config;
    const envValues: Record<string, unknown> = {
      'sdnext.base_url': env.sdnext.baseUrl,
      'sdnext.username': env.sdnext.username,
      'sdnext.password': env.sdnext.password,
      'comfyui.base_url': env.comfyui.baseUrl,
      'comfyui.checkpoint': env.comfyui.checkpoint,
    };
    for (const section of ['sdnext', 'comfyui'] as const) {
      const keys =
        section === 'sdnext'
          ? ['base_url', 'username', 'password', 'timeout_seconds', 'default_steps', 'default_sampler', 'default_cfg_scale']
          : ['base_url', 'checkpoint', 'timeout_seconds'];
      for (const key of keys) {
        const name = `${section}.${key}`;
        const isSaved = (saved[section] as Record<string, unknown> | undefined)?.[key] !== undefined;
        sources[name] = isSaved ? 'settings' : envValues[name] !== undefined && envValues[name] !== null ? 'environment' : 'default';
      }
    }
    return {
      sdnext: {
        base_url: e.sdnext.baseUrl,
        username: e.sdnext.username,
        password_set: e.sdnext.password !== null,
        timeout_seconds: e.sdnext.timeoutMs / 1000,
        default_steps: e.sdnext.defaultSteps,
        default_sampler: e.sdnext.defaultSampler,
        default_cfg_scale: e.sdnext.defaultCfgScale,
      },
      comfyui: { base_url: e.comfyui.baseUrl, checkpoint: e.comfyui.checkpoint, timeout_seconds: e.comfyui.timeoutMs / 1000 },
      sources,
    };
  }

  /** Apply a partial update: a value saves it, `null` removes the saved value so configuration applies again. */
  async update(patch: GenerationSettingsPatch): Promise<GenerationSettings> {
    const saved = await this.saved();
    for (const section of ['sdnext', 'comfyui'] as const) {
      const changes = patch[section] as Record<string, unknown> | undefined;
      if (!changes) continue;
      const current: Record<string, unknown> = { ...(saved[section] ?? {}) };
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete current[key];
        else current[key] = key === 'base_url' && typeof value === 'string' ? value.replace(/\/+$/, '') : value;
      }
      (saved as Record<string, unknown>)[section] = current;
    }
    await this.settings.set(KEY, saved, toIso(this.clock.now()));
    return this.get();
  }
}
