import path from 'node:path';

/** True when `child` is `parent` or lies below it. Both must be absolute and normalised (e.g. realpaths). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The first root that contains `file`, with the path relative to it. */
export function locateInRoots(roots: readonly string[], file: string): { root: string; relativePath: string } | null {
  for (const root of roots) {
    if (isInside(root, file)) return { root, relativePath: path.relative(root, file) };
  }
  return null;
}
