/**
 * The metadata case of bench:archive: a library of many small LoRAs (each with a .civitai.info and a preview), the
 * shape where per-file overhead, not bytes, decides the time. Measures the export estimate, a metadata-only export
 * (no LoRA files), the same over HTTP, and a metadata backup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Container } from '../src/container.ts';

export interface MetadataRow {
  label: string;
  seconds: number;
  detail: string;
}

/** Best of `rounds` wall-clock seconds of `fn`. */
async function best(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  let seconds = Infinity;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    seconds = Math.min(seconds, (performance.now() - start) / 1000);
  }
  return seconds;
}

/** Catalogue `count` LoRAs below `library` (small fake weights, a 6 KB .civitai.info and a 24 KB preview each). */
export async function seedMetadataLibrary(container: Container, library: string, count: number): Promise<void> {
  const preview = Buffer.alloc(24 * 1024, 7);
  const weights = Buffer.alloc(64 * 1024, 3);
  for (let i = 0; i < count; i++) {
    const dir = path.join(library, `folder${i % 40}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `meta_lora_${i}.safetensors`);
    fs.writeFileSync(file, weights);
    fs.writeFileSync(path.join(dir, `meta_lora_${i}.civitai.info`), JSON.stringify({ id: i, trainedWords: [`word${i}`], description: 'd'.repeat(6000) }));
    fs.writeFileSync(path.join(dir, `meta_lora_${i}.preview.png`), preview);
    await container.services.adapters.create({ name: `meta lora ${i}`, file_path: file, tags: ['bench', `group${i % 20}`], triggers: [`word${i}`] });
  }
}

export async function metadataCase(container: Container, tmp: string, port: number, rounds: number, curl: (args: string[]) => Promise<void>): Promise<MetadataRow[]> {
  const exporter = container.services.archiveExport;
  const backups = container.services.backups;
  const rows: MetadataRow[] = [];
  const target = path.join(tmp, 'metadata.zip');
  const metadataOnly = { loras: true, lora_files: false } as const;

  const estimateAll = await best(rounds, () => exporter.estimate({ loras: true }));
  const estimate = await exporter.estimate({ loras: true });
  rows.push({ label: 'POST /export/estimate (all files)', seconds: estimateAll, detail: `${estimate.adapter_count} LoRAs, ${estimate.size}` });
  rows.push({ label: 'estimate (metadata only)', seconds: await best(rounds, () => exporter.estimate(metadataOnly)), detail: '' });

  const exportSeconds = await best(rounds, async () => exporter.writeFile(await exporter.plan(exporter.options(metadataOnly)), target));
  rows.push({ label: 'metadata export: service → file', seconds: exportSeconds, detail: `${(fs.statSync(target).size / 1048576).toFixed(1)} MB archive` });
  const http = path.join(tmp, 'metadata-http.zip');
  rows.push({
    label: 'metadata export: POST /export → curl',
    seconds: await best(rounds, () =>
      curl(['-sS', '-f', '-X', 'POST', '-H', 'content-type: application/json', '-d', JSON.stringify(metadataOnly), '-o', http, `http://127.0.0.1:${port}/api/v1/export`]),
    ),
    detail: '',
  });
  let backupSize = 0;
  rows.push({
    label: 'metadata backup',
    seconds: await best(rounds, async () => {
      const backup = await backups.create({ backup_type: 'metadata' });
      backupSize = backup.size;
      await backups.delete(backup.id);
    }),
    detail: `${(backupSize / 1048576).toFixed(1)} MB archive`,
  });
  return rows;
}
