/**
 * `npm run fixtures -- --count N --out DIR [--seed S] [--broken 0.01] [--max-rank R] [--manifest FILE]`
 * Writes a realistic LoRA library (see scripts/fixtures/library-generator.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateLibrary } from './fixtures/library-generator.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100' },
    out: { type: 'string' },
    seed: { type: 'string', default: '42' },
    broken: { type: 'string', default: '0.01' },
    'max-rank': { type: 'string' },
    manifest: { type: 'string' },
  },
});
if (!values.out) {
  process.stderr.write('usage: npm run fixtures -- --count N --out DIR [--seed S] [--broken SHARE] [--max-rank R] [--manifest FILE]\n');
  process.exit(2);
}
const started = Date.now();
const out = path.resolve(values.out);
const { files, bytes } = await generateLibrary({
  out,
  count: Number(values.count),
  seed: Number(values.seed),
  brokenShare: Number(values.broken),
  maxRank: values['max-rank'] ? Number(values['max-rank']) : undefined,
});
if (values.manifest) fs.writeFileSync(values.manifest, JSON.stringify(files, null, 1));
const broken = files.filter((f) => f.broken).length;
process.stdout.write(
  `wrote ${files.length} LoRA files (${broken} broken or not LoRAs) with ${files.reduce((n, f) => n + f.sidecars.length, 0)} sidecars to ${out}: ` +
    `${(bytes / 2 ** 30).toFixed(1)} GiB apparent, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
