import fs from 'node:fs/promises';
import path from 'node:path';
import { BadRequestError } from '../../errors.ts';
import { isInside, locateInRoots } from '../../lib/paths.ts';
import { realPathOf, rootRefusal, type RootPolicyOptions } from '../../lib/root-policy.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';

const ROOTS_SETTING = 'library.roots';

export interface ResolvedLibraryFile {
  path: string;
  root: string;
  relativePath: string;
  size: number;
  mtime: Date;
}

export interface RootsPolicy extends RootPolicyOptions {
  /** Follow symbolic links that lead out of every root (LIBRARY_ALLOW_LINKS_OUT). */
  allowLinksOut: boolean;
}

/**
 * The folders that hold the user's LoRAs: those from LORA_PATHS plus those added at run time. Every path the API
 * accepts from a client is confined to them. A root the policy refuses (`/`, a system folder, DATA_DIR...), whether
 * configured or saved by an older version, is listed with the reason but never used: `list()` leaves it out.
 */
export class LibraryRootsService {
  constructor(
    private readonly configured: readonly string[],
    private readonly settings: SettingRepository,
    readonly policy: RootsPolicy,
  ) {}

  /** Every root named by configuration or settings, refused ones included. */
  async all(): Promise<string[]> {
    const added = (await this.settings.get<string[]>(ROOTS_SETTING)) ?? [];
    return [...new Set([...this.configured, ...added].map((p) => path.resolve(p)))];
  }

  /** The roots in use: every root the policy accepts. */
  async list(): Promise<string[]> {
    return (await this.all()).filter((root) => this.refusal(root) === null);
  }

  /** The roots in use by real path (symbolic links resolved), for confinement checks. */
  async realList(): Promise<string[]> {
    return (await this.list()).map((root) => realPathOf(root));
  }

  /** The named roots the policy refuses, with the reason. */
  async refused(): Promise<Array<{ root: string; reason: string }>> {
    return (await this.all()).flatMap((root) => {
      const reason = this.refusal(root);
      return reason ? [{ root, reason }] : [];
    });
  }

  /** Why `root` may not be a library root, or null. */
  refusal(root: string): string | null {
    return rootRefusal(root, this.policy);
  }

  /** The roots added through the API (LORA_PATHS ones are fixed by configuration). */
  async added(): Promise<string[]> {
    return (await this.settings.get<string[]>(ROOTS_SETTING)) ?? [];
  }

  async setAdded(roots: readonly string[], updatedAt: string): Promise<void> {
    await this.settings.set(ROOTS_SETTING, [...new Set(roots.map((p) => path.resolve(p)))], updatedAt);
  }

  /**
   * The real path of `file` when it may be read: it lies inside a root by real path (or, with links out allowed,
   * is reached through one). Null otherwise: the caller treats that exactly like a missing file.
   */
  async confine(file: string, roots?: readonly string[]): Promise<string | null> {
    const inUse = roots ?? (await this.list());
    const real = await fs.realpath(file).catch(() => null);
    if (real === null) return null;
    if ((await this.realList()).some((root) => isInside(root, real))) return real;
    return this.policy.allowLinksOut && inUse.some((root) => isInside(root, path.resolve(file))) ? real : null;
  }

  /**
   * Resolve a client-supplied file path (absolute, or relative to a root) to a readable regular file inside a
   * library root. A symbolic link inside a root is accepted when its target lies inside a root too (or links out
   * are allowed); a path that only reaches a root through `..` is not. A file outside the roots gets the same
   * answer as a missing one, so the API does not tell which paths exist on the machine.
   */
  async resolveFile(input: string): Promise<ResolvedLibraryFile> {
    const roots = await this.list();
    const realRoots = await this.realList();
    const candidates = path.isAbsolute(input) ? [path.resolve(input)] : roots.map((root) => path.resolve(root, input));
    for (const candidate of candidates) {
      // A root that is itself a link may be named by its real path too.
      const located = locateInRoots(roots, candidate) ?? locateInRoots(realRoots, candidate);
      if (!located) continue;
      const real = await this.confine(candidate, roots);
      if (real === null) continue;
      const stat = await fs.stat(real).catch(() => null);
      if (!stat?.isFile()) continue;
      if (!(await fs.access(real, fs.constants.R_OK).then(() => true, () => false))) continue;
      return { path: candidate, ...located, size: stat.size, mtime: stat.mtime };
    }
    throw new BadRequestError(
      'file_not_found',
      'file_path does not exist or is not readable',
      roots.length === 0 ? 'No library roots are configured: set LORA_PATHS or add a root in the settings.' : 'It must be a readable file inside a library root.',
    );
  }
}
