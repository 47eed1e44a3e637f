import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * No import cycles in packages/server/src. The graph is built from the source text (no plugin is installed for
 * `import/no-cycle`): every `import … from '…'`, `export … from '…'`, side-effect `import '…'` and `import('…')` with a
 * relative specifier becomes an edge. `import type` counts too: a type cycle is still a layering knot.
 */

const SRC = dirname(fileURLToPath(import.meta.url));

/** Relative specifiers of one file's static and dynamic imports and re-exports. */
function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]!);
  return specifiers.filter((s) => s.startsWith('.'));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** file (relative to src) -> files it imports (relative to src); targets outside the file set are dropped. */
function importGraph(files: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    const targets = importSpecifiers(source)
      .map((specifier) => join(dirname(file), specifier).replace(/\.js$/, '.ts'))
      .filter((target) => files.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle, each reported once as a path `a -> b -> … -> a` (Tarjan's strongly connected components, then one loop per component). */
function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowLinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];

  const visit = (node: string): void => {
    indices.set(node, index);
    lowLinks.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowLinks.set(node, Math.min(lowLinks.get(node)!, lowLinks.get(next)!));
      } else if (onStack.has(next)) {
        lowLinks.set(node, Math.min(lowLinks.get(node)!, indices.get(next)!));
      }
    }
    if (lowLinks.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) visit(node);

  return components.map((component) => loopThrough(graph, new Set(component), [...component].sort()[0]!));
}

/** One concrete loop from `start` back to itself inside a strongly connected component (breadth-first, so it is short). */
function loopThrough(graph: Map<string, string[]>, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** The layer folders a capability folder (`generation/`, `library/`, …) may hold; the lint rules of eslint.config.js key on them. */
const LAYER_FOLDERS = ['routes', 'services', 'repositories', 'jobs', 'backends'];
/** The top-level folders of src/ that are shared infrastructure or layers, not capabilities. */
const SHARED_FOLDERS = ['cli', 'db', 'events', 'http', 'jobs', 'lib', 'probes', 'repositories', 'routes', 'services', 'workers'];

describe('capability folders', () => {
  const capabilities = readdirSync(SRC, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !SHARED_FOLDERS.includes(entry.name))
    .map((entry) => entry.name);

  it('exist for the capabilities that span layers', () => {
    expect(capabilities).toEqual(expect.arrayContaining(['archive', 'generation', 'library']));
  });

  it.each(capabilities)('%s/ holds only layer folders, so every file of it is covered by a layer rule', (capability) => {
    const misplaced = readdirSync(join(SRC, capability)).filter(
      (name) => !(LAYER_FOLDERS.includes(name) && statSync(join(SRC, capability, name)).isDirectory()),
    );
    expect(misplaced, `put these in one of ${LAYER_FOLDERS.join(', ')} (see ARCHITECTURE.md)`).toEqual([]);
  });
});

describe('server import graph', () => {
  it('has no import cycles', () => {
    const files = new Map(sourceFiles(SRC).map((path) => [relative(SRC, path), readFileSync(path, 'utf8')]));
    const cycles = findCycles(importGraph(files)).map((cycle) => cycle.join(' -> '));
    expect(cycles, `import cycles in packages/server/src:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('finds a cycle when one is introduced', () => {
    // The detector itself must not be blind: a two-file loop through a re-export and a type import is caught.
    const files = new Map([
      ['services/a.ts', "import type { B } from './b.ts';\nexport const a = 1;"],
      ['services/b.ts', "export { a } from './a.ts';\nexport type B = number;"],
      ['lib/c.ts', "import { a } from '../services/a.js';"],
    ]);
    expect(findCycles(importGraph(files))).toEqual([['services/a.ts', 'services/b.ts', 'services/a.ts']]);
  });
});
