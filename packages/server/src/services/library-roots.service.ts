import fs from 'node:fs/promises';
import path from 'node:path';
import { BadRequestError } from '../errors.ts';
import { locateInRoots } from '../lib/paths.ts';
import type { SettingRepository } from '../repositories/setting.repository.ts';

const ROOTS_SETTING = 'library.roots';

export interface ResolvedLibraryFile {
  path: string;
  root: string;
  relativePath: string;
  size: number;
  mtime: Date;
}

/**
 * The folders that hold the user's LoRAs: those from LORA_PATHS plus those added at run time. Every path the API
 * accepts from a client is confined to them.
 */
export class LibraryRootsService {
  constructor(
    private readonly configured: readonly string[],
    private readonly settings: SettingRepository,
  ) {}

  async list(): Promise<string[]> {
    const added = (await this.settings.get<string[]>(ROOTS_SETTING)) ?? [];
    return [...new Set([...this.configured, ...added].map((p) => path.resolve(p)))];
  }

  /** The roots added through the API (LORA_PATHS ones are fixed by configuration). */
  async added(): Promise<string[]> {
    return (await this.settings.get<string[]>(ROOTS_SETTING)) ?? [];
  }

  async setAdded(roots: readonly string[], updatedAt: string): Promise<void> {
    await this.settings.set(ROOTS_SETTING, [...new Set(roots.map((p) => path.resolve(p)))], updatedAt);
  }

  /**
   * Resolve a client-supplied file path (absolute, or relative to a root) to a readable regular file inside a
   * library root. A symlink the user placed inside a root is accepted; a path that only reaches a root through
   * `..` is not.
   */
  async resolveFile(input: string): Promise<ResolvedLibraryFile> {
    const roots = await this.list();
    const candidates = path.isAbsolute(input) ? [path.resolve(input)] : roots.map((root) => path.resolve(root, input));
    for (const candidate of candidates) {
      const stat = await fs.stat(candidate).catch(() => null);
      if (!stat?.isFile()) continue;
      if (!(await fs.access(candidate, fs.constants.R_OK).then(() => true, () => false))) continue;
      const located = locateInRoots(roots, candidate) ?? locateInRoots(await realRoots(roots), await fs.realpath(candidate));
      if (!located) {
        throw new BadRequestError(
          'file_outside_library',
          'file_path must lie inside a configured library root',
          roots.length === 0
            ? 'No library roots are configured: set LORA_PATHS or add a root in the settings.'
            : `Library roots: ${roots.join(', ')}`,
        );
      }
      return { path: candidate, ...located, size: stat.size, mtime: stat.mtime };
    }
    throw new BadRequestError('file_not_found', 'file_path does not exist or is not readable');
  }
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  return Promise.all(roots.map((r) => fs.realpath(r).catch(() => r)));
}
