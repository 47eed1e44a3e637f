import type { BackendInfo, BackendOptions } from '@lora-manager/contract';
import type { Clock } from '../../lib/clock.ts';
import { toIso } from '../../lib/time.ts';
import { ComfyuiBackend } from './comfyui.backend.ts';
import type { BackendSettingsSource, EffectiveGenerationSettings } from './backend-settings.ts';
import type { BackendHealth, GenerationBackend } from './generation-backend.ts';
import { SdnextBackend } from './sdnext.backend.ts';

/** Backend names jobs may use. `a1111` is the same A1111-compatible client as `sdnext`. */
export const GENERATION_BACKENDS = ['sdnext', 'a1111', 'comfyui'] as const;
const CANONICAL: Record<string, 'sdnext' | 'comfyui'> = { sdnext: 'sdnext', a1111: 'sdnext', automatic1111: 'sdnext', comfyui: 'comfyui' };

/** Health probes are cached this long so dashboards polling /backends do not hammer the servers. */
const PROBE_TTL_MS = 5000;

/** Builds the configured generation backends from the settings in force (which the web page can change). */
export class BackendRegistry {
  private readonly probes = new Map<string, { at: number; health: BackendHealth; checkedAt: string }>();

  constructor(
    private readonly settings: BackendSettingsSource,
    private readonly clock: Clock,
    private readonly pollIntervalMs: number,
  ) {}

  /** `sdnext` for `sdnext`/`a1111`, `comfyui` for `comfyui`, null for names that are no generation backend. */
  canonical(name: string): 'sdnext' | 'comfyui' | null {
    return CANONICAL[name.trim().toLowerCase()] ?? null;
  }

  /** The backend for a name, or null when it is not configured. Throws nothing for unknown names: check canonical() first. */
  async get(name: string): Promise<GenerationBackend | null> {
    const canonical = this.canonical(name);
    if (!canonical) return null;
    return this.build(canonical, await this.settings.effective());
  }

  private build(name: 'sdnext' | 'comfyui', s: EffectiveGenerationSettings): GenerationBackend | null {
    if (name === 'sdnext') {
      if (!s.sdnext.baseUrl) return null;
      return new SdnextBackend({ ...s.sdnext, baseUrl: s.sdnext.baseUrl, pollIntervalMs: this.pollIntervalMs });
    }
    if (!s.comfyui.baseUrl) return null;
    return new ComfyuiBackend({ ...s.comfyui, baseUrl: s.comfyui.baseUrl, pollIntervalMs: this.pollIntervalMs });
  }

  /** The queue group for jobs on this backend: its server URL, so one server runs one job at a time. */
  async target(name: string): Promise<string> {
    const canonical = this.canonical(name) ?? name;
    const backend = await this.get(canonical);
    return backend?.target ?? `${canonical}:unconfigured`;
  }

  /** Every backend with whether it is configured and whether it answers now. */
  async list(): Promise<BackendInfo[]> {
    const settings = await this.settings.effective();
    return Promise.all(
      (['sdnext', 'comfyui'] as const).map(async (name) => {
        const backend = this.build(name, settings);
        if (!backend) return { name, configured: false, base_url: null, available: false, error: 'not configured', checked_at: null };
        const probe = await this.probe(backend);
        return { name, configured: true, base_url: backend.baseUrl, available: probe.health.available, error: probe.health.error, checked_at: probe.checkedAt };
      }),
    );
  }

  /**
   * What the generation form offers for a backend: the defaults in force and the server's own samplers, schedulers
   * and checkpoints. Null for names that are no generation backend; an unconfigured or silent server gives empty lists.
   */
  async options(name: string): Promise<BackendOptions | null> {
    const canonical = this.canonical(name);
    if (!canonical) return null;
    const settings = await this.settings.effective();
    const defaults = { steps: settings.sdnext.defaultSteps, sampler_name: settings.sdnext.defaultSampler, cfg_scale: settings.sdnext.defaultCfgScale };
    const backend = this.build(canonical, settings);
    if (!backend) {
      return { backend: canonical, available: false, error: 'not configured', defaults, samplers: [], schedulers: [], checkpoints: [], current_checkpoint: null };
    }
    const [probe, catalog] = await Promise.all([this.probe(backend), backend.catalog()]);
    return {
      backend: canonical,
      available: probe.health.available,
      error: probe.health.error,
      defaults,
      samplers: catalog.samplers,
      schedulers: catalog.schedulers,
      checkpoints: catalog.checkpoints,
      current_checkpoint: catalog.currentCheckpoint,
    };
  }

  private async probe(backend: GenerationBackend): Promise<{ health: BackendHealth; checkedAt: string }> {
    const now = this.clock.now().getTime();
    const cached = this.probes.get(backend.target);
    if (cached && now - cached.at < PROBE_TTL_MS) return cached;
    const health = await backend.probe();
    const entry = { at: now, health, checkedAt: toIso(now) };
    this.probes.set(backend.target, entry);
    return entry;
  }
}
