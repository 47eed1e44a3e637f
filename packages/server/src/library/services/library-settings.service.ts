import type { LibrarySettings, LibrarySettingsPatch } from '@lora-manager/contract';
import type { Clock } from '../../lib/clock.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';
import type { SecretCipher } from '../../services/secret-cipher.ts';

const KEYS = {
  watch: 'library.watch',
  autoHash: 'library.auto_hash',
  writeSidecars: 'library.write_sidecars',
  writePreviews: 'library.write_previews',
  civitaiEnabled: 'civitai.enabled',
  civitaiKey: 'civitai.api_key',
} as const;

/** What the library reads from settings, with defaults: watching and hashing on, writing into library folders and CivitAI off. */
export interface LibrarySettingValues {
  watch: boolean;
  autoHash: boolean;
  writeSidecars: boolean;
  writePreviews: boolean;
  civitaiEnabled: boolean;
  civitaiApiKey: string | null;
}

type Listener = (values: LibrarySettingValues) => void;

/** The server-owned library settings (key/value rows). The CivitAI key is stored sealed and never returned. */
export class LibrarySettingsService {
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly settings: SettingRepository,
    private readonly clock: Clock,
    private readonly cipher: SecretCipher,
  ) {}

  async values(): Promise<LibrarySettingValues> {
    const [watch, autoHash, writeSidecars, writePreviews, civitaiEnabled, civitaiApiKey] = await Promise.all([
      this.settings.get<boolean>(KEYS.watch),
      this.settings.get<boolean>(KEYS.autoHash),
      this.settings.get<boolean>(KEYS.writeSidecars),
      this.settings.get<boolean>(KEYS.writePreviews),
      this.settings.get<boolean>(KEYS.civitaiEnabled),
      this.settings.get<string | null>(KEYS.civitaiKey),
    ]);
    return {
      watch: watch ?? true,
      autoHash: autoHash ?? true,
      writeSidecars: writeSidecars ?? false,
      writePreviews: writePreviews ?? false,
      civitaiEnabled: civitaiEnabled ?? false,
      // Anything but a non-empty string (a hand-edited or imported row) counts as no key.
      civitaiApiKey: typeof civitaiApiKey === 'string' && civitaiApiKey ? this.cipher.open(civitaiApiKey, KEYS.civitaiKey) : null,
    };
  }

  async get(): Promise<LibrarySettings> {
    return toApi(await this.values());
  }

  async update(patch: LibrarySettingsPatch): Promise<LibrarySettings> {
    const now = this.clock.now().toISOString();
    const writes: Array<[string, unknown]> = [];
    if (patch.watch !== undefined) writes.push([KEYS.watch, patch.watch]);
    if (patch.auto_hash !== undefined) writes.push([KEYS.autoHash, patch.auto_hash]);
    if (patch.write_sidecars !== undefined) writes.push([KEYS.writeSidecars, patch.write_sidecars]);
    if (patch.write_previews !== undefined) writes.push([KEYS.writePreviews, patch.write_previews]);
    if (patch.civitai_enabled !== undefined) writes.push([KEYS.civitaiEnabled, patch.civitai_enabled]);
    if (patch.civitai_api_key !== undefined) {
      const key = patch.civitai_api_key?.trim();
      writes.push([KEYS.civitaiKey, key ? this.cipher.seal(key) : null]);
    }
    for (const [key, value] of writes) await this.settings.set(key, value, now);
    const values = await this.values();
    for (const listener of this.listeners) listener(values);
    return toApi(values);
  }

  /** Seal a CivitAI key an older version stored in plaintext. */
  async sealLegacySecrets(): Promise<void> {
    const stored = await this.settings.get<string | null>(KEYS.civitaiKey);
    if (typeof stored === 'string' && stored && this.cipher.isLegacy(stored)) await this.settings.set(KEYS.civitaiKey, this.cipher.seal(stored), this.clock.now().toISOString());
  }

  /** Called after every change (the watcher starts or stops on it). */
  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }
}

function toApi(v: LibrarySettingValues): LibrarySettings {
  return {
    watch: v.watch,
    auto_hash: v.autoHash,
    write_sidecars: v.writeSidecars,
    write_previews: v.writePreviews,
    civitai_enabled: v.civitaiEnabled,
    civitai_api_key_set: v.civitaiApiKey !== null,
  };
}
