import fs from 'node:fs';
import path from 'node:path';
import { isInside } from './paths.ts';

/**
 * Which folders may be library roots. A root is walked, watched and served from, so the whole file system, the
 * operating system's folders and our own data (the database, backups, generated images) must never become one:
 * walking `/` exhausts memory, and a root at `/etc` makes every file there readable through the adapter routes.
 * Everything is compared by real path, so a symbolic link to `/etc` is `/etc`.
 */

/** Folders refused as roots together with everything inside them: the system's own files. */
const SYSTEM_TREES = ['/proc', '/sys', '/dev', '/etc', '/boot', '/run', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/usr', '/var/run', '/var/lib/docker'];
/**
 * Folders refused as roots themselves (they hold everyone's files), though a folder inside one may be a root: on a
 * rented GPU box the web UI often lives in /root (`/root/stable-diffusion-webui/models/Lora`), and dot-folders such
 * as `~/.ssh` are never walked.
 */
const SYSTEM_TOPS = ['/', '/root', '/var', '/home', '/mnt', '/media', '/opt', '/srv', '/tmp', '/var/tmp', '/var/lib'];

export interface RootPolicyOptions {
  dataDir: string;
  outputDir: string;
}

/** Why `root` may not be a library root, or null when it may. */
export function rootRefusal(root: string, options: RootPolicyOptions): string | null {
  const real = realPathOf(root);
  if (real === path.parse(real).root) return 'the whole file system cannot be a library root';
  // Both spellings count: `/proc/self/cwd` really is the server's working folder, but it is named through /proc.
  const named = path.resolve(root);
  for (const tree of SYSTEM_TREES) {
    for (const form of forms(tree)) {
      if (isInside(form, real) || isInside(form, named)) return `${named} is a system folder (${tree}) and cannot be a library root`;
      if (isInside(real, form)) return `${real} contains the system folder ${tree} and cannot be a library root`;
    }
  }
  // Hidden folders hold configuration and keys (~/.ssh, ~/.config), never a library; the walk skips them too.
  if ([named, real].some((p) => p.split(path.sep).some((segment) => segment.startsWith('.')))) {
    return `${named} is or lies in a hidden folder and cannot be a library root`;
  }
  for (const top of SYSTEM_TOPS) {
    if (forms(top).includes(real)) return `${real} is a system folder and cannot be a library root; choose a folder inside it`;
  }
  const own: Array<[string, string]> = [
    [options.dataDir, 'DATA_DIR'],
    [options.outputDir, 'OUTPUT_DIR'],
  ];
  for (const [dir, name] of own) {
    const realDir = realPathOf(dir);
    if (isInside(realDir, real)) return `${real} lies inside ${name} (${realDir}), which holds the server's own files`;
    if (isInside(real, realDir)) return `${real} contains ${name} (${realDir}), which holds the server's own files`;
  }
  return null;
}

/**
 * The real path of `p`; for a path that does not exist (yet), the real path of its nearest existing folder with the
 * rest appended, so a link higher up is still seen through.
 */
export function realPathOf(p: string): string {
  const resolved = path.resolve(p);
  try {
    return fs.realpathSync.native(resolved);
  } catch {
    const parent = path.dirname(resolved);
    return parent === resolved ? resolved : path.join(realPathOf(parent), path.basename(resolved));
  }
}

/** System folders do not move while the server runs: each is resolved once (the roots are checked per request). */
const systemForms = new Map<string, string[]>();

/** A system folder as named and as it really is (e.g. /lib -> /usr/lib on merged-/usr systems). */
function forms(dir: string): string[] {
  let known = systemForms.get(dir);
  if (!known) {
    const real = realPathOf(dir);
    known = real === dir ? [dir] : [dir, real];
    systemForms.set(dir, known);
  }
  return known;
}
