import type { GenerationSettings, GenerationSettingsPatch } from '@lora-manager/contract';
import type { BackendSettingsSource, EffectiveGenerationSettings } from '../backends/backend-settings.ts';
import type { GenerationConfig } from '../../config.ts';
import { AppError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { toIso } from '../../lib/time.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';
import type { SecretCipher } from '../../services/secret-cipher.ts';

const KEY = 'generation.servers';

interface SavedSdnext extends Partial<Record<'base_url' | 'username' | 'password' | 'default_sampler', string>>,
  Partial<Record<'timeout_seconds' | 'default_steps' | 'default_cfg_scale', number>> {
  /**
   * The origin (scheme://host:port) the saved password was entered for: it is sent there and nowhere else. Absent on
   * rows of older versions, whose password counts as entered for the server in force when it is first read.
   */
  credentials_origin?: string;
}

interface Saved {
  sdnext?: SavedSdnext;
  comfyui?: Partial<Record<'base_url' | 'checkpoint', string>> & Partial<Record<'timeout_seconds', number>>;
}

type Source = GenerationSettings['sources'][string];

/** scheme://host:port of a URL (null when there is none): what credentials are bound to. */
function originOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * A server URL we will send requests (and maybe credentials) to: http(s), a host, nothing that would change where
 * or how requests go. The contract already insists on http(s)://; this catches the rest with one stable code.
 */
function checkServerUrl(field: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError(422, 'invalid_server_url', `${field} is not a valid URL`);
  }
  const problem =
    !['http:', 'https:'].includes(url.protocol) ? 'must start with http:// or https://'
    : !url.hostname ? 'must name a host'
    : url.username || url.password ? 'must not carry credentials (use the username and password fields)'
    : url.hash || value.includes('#') ? 'must not have a #fragment'
    : url.search ? 'must not have a ?query'
    : null;
  if (problem) throw new AppError(422, 'invalid_server_url', `${field} ${problem}`);
}

/**
 * Generation server settings. Configuration (SDNEXT_*, COMFYUI_*) gives the starting values; the settings route can
 * override them at run time, stored in the database so every process (API and workers) sees the same servers.
 * Credentials are bound to the server they were given for: changing the URL never sends them to another host.
 */
export class GenerationSettingsService implements BackendSettingsSource {
  constructor(
    private readonly config: GenerationConfig,
    private readonly settings: SettingRepository,
    private readonly clock: Clock,
    private readonly cipher: SecretCipher,
  ) {}

  private async saved(): Promise<Saved> {
    return (await this.settings.get<Saved>(KEY)) ?? {};
  }

  /** The SDNext credentials to use with the URL in force, and where each comes from. */
  private credentials(s: SavedSdnext, baseUrl: string | null) {
    const env = this.config.sdnext;
    const origin = originOf(baseUrl);
    // Configured credentials are for the configured server only.
    const envApplies = origin !== null && origin === originOf(env.baseUrl);
    const savedApplies = typeof s.password === 'string' && origin !== null && (s.credentials_origin ?? origin) === origin;
    const saved = savedApplies ? this.cipher.open(s.password!, 'sdnext.password') : null;
    const password: { value: string | null; source: Source } =
      saved !== null ? { value: saved, source: 'settings' }
      : envApplies && env.password !== null ? { value: env.password, source: 'environment' }
      : { value: null, source: 'default' };
    const username: { value: string | null; source: Source } =
      s.username !== undefined ? { value: s.username, source: 'settings' }
      : envApplies && env.username !== null ? { value: env.username, source: 'environment' }
      : { value: null, source: 'default' };
    return { username, password };
  }

  private resolve(saved: Saved) {
    const s = saved.sdnext ?? {};
    const c = saved.comfyui ?? {};
    const env = this.config;
    const baseUrl = s.base_url ?? env.sdnext.baseUrl;
    const credentials = this.credentials(s, baseUrl);
    const effective: EffectiveGenerationSettings = {
      sdnext: {
        baseUrl,
        username: credentials.username.value,
        password: credentials.password.value,
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
    return { effective, credentials };
  }

  async effective(): Promise<EffectiveGenerationSettings> {
    return this.resolve(await this.saved()).effective;
  }

  async get(): Promise<GenerationSettings> {
    const saved = await this.saved();
    const { effective: e, credentials } = this.resolve(saved);
    const sources: GenerationSettings['sources'] = {};
    const env = this.config;
    const envValues: Record<string, unknown> = {
      'sdnext.base_url': env.sdnext.baseUrl,
      'comfyui.base_url': env.comfyui.baseUrl,
      'comfyui.checkpoint': env.comfyui.checkpoint,
    };
    for (const section of ['sdnext', 'comfyui'] as const) {
      const keys =
        section === 'sdnext'
          ? ['base_url', 'timeout_seconds', 'default_steps', 'default_sampler', 'default_cfg_scale']
          : ['base_url', 'checkpoint', 'timeout_seconds'];
      for (const key of keys) {
        const name = `${section}.${key}`;
        const isSaved = (saved[section] as Record<string, unknown> | undefined)?.[key] !== undefined;
        sources[name] = isSaved ? 'settings' : envValues[name] !== undefined && envValues[name] !== null ? 'environment' : 'default';
      }
    }
    sources['sdnext.username'] = credentials.username.source;
    sources['sdnext.password'] = credentials.password.source;
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

  /**
   * Apply a partial update: a value saves it, `null` removes the saved value so configuration applies again. A
   * change of the SDNext server's origin without a new password drops the saved password: it belonged to the old one.
   */
  async update(patch: GenerationSettingsPatch): Promise<GenerationSettings> {
    for (const section of ['sdnext', 'comfyui'] as const) {
      const url = patch[section]?.base_url;
      if (typeof url === 'string') checkServerUrl(`${section}.base_url`, url);
    }
    const saved = await this.saved();
    const originBefore = originOf(saved.sdnext?.base_url ?? this.config.sdnext.baseUrl);
    if (saved.sdnext) this.sealLegacyPassword(saved.sdnext, originBefore);
    for (const section of ['sdnext', 'comfyui'] as const) {
      const changes = patch[section] as Record<string, unknown> | undefined;
      if (!changes) continue;
      const current: Record<string, unknown> = { ...(saved[section] ?? {}) };
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete current[key];
        else if (key === 'base_url' && typeof value === 'string') current[key] = value.replace(/\/+$/, '');
        else if (key === 'password' && typeof value === 'string') current[key] = this.cipher.seal(value);
        else current[key] = value;
      }
      (saved as Record<string, unknown>)[section] = current;
    }
    const sd = saved.sdnext;
    if (sd) {
      const originAfter = originOf(sd.base_url ?? this.config.sdnext.baseUrl);
      const newPassword = typeof patch.sdnext?.password === 'string';
      if (newPassword) sd.credentials_origin = originAfter ?? '';
      else if (sd.password === undefined || originAfter !== originBefore) {
        delete sd.password;
        delete sd.credentials_origin;
      }
    }
    await this.settings.set(KEY, saved, toIso(this.clock.now()));
    return this.get();
  }

  /** Seal a plaintext password an older version saved (at start, so it does not stay in plaintext until the next change). */
  async sealLegacySecrets(): Promise<void> {
    const saved = await this.saved();
    if (typeof saved.sdnext?.password !== 'string' || !this.cipher.isLegacy(saved.sdnext.password)) return;
    this.sealLegacyPassword(saved.sdnext, originOf(saved.sdnext.base_url ?? this.config.sdnext.baseUrl));
    await this.settings.set(KEY, saved, toIso(this.clock.now()));
  }

  /** An older version's plaintext password: sealed, and bound to the server in force when it was saved. */
  private sealLegacyPassword(s: SavedSdnext, origin: string | null): void {
    if (typeof s.password !== 'string' || !this.cipher.isLegacy(s.password)) return;
    s.password = this.cipher.seal(s.password);
    s.credentials_origin ??= origin ?? '';
  }
}
