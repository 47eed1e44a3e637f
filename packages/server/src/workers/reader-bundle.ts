import fs from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * The reader thread's code (analyse.worker.ts and the parsers it imports) as one CommonJS script, bundled by esbuild
 * once per process. The server runs from TypeScript source through tsx; a thread started that way spends about a
 * quarter of a second and a loader thread of its own compiling the same modules again, on every scan, while a bundled
 * one starts in milliseconds. Null when bundling fails: the pool then starts threads through tsx as before.
 */
export function readerBundle(): Promise<string | null> {
  bundled ??= bundle().catch(() => null);
  return bundled;
}

let bundled: Promise<string | null> | undefined;

const ENTRY = fileURLToPath(new URL('./analyse.worker.ts', import.meta.url));

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [keepImportMetaUrl],
  });
  return result.outputFiles[0].text;
}

/**
 * Each module's `import.meta.url` becomes the URL of its source file, as written: the header reader finds its
 * compiled addon relative to it, and a bundle has no `import.meta` of its own.
 */
const keepImportMetaUrl: Plugin = {
  name: 'keep-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      const source = await fs.readFile(path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href)), loader: 'ts' };
    });
  },
};
