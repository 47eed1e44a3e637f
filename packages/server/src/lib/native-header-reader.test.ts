import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateLibrary } from '../../scripts/fixtures/library-generator.ts';
import { fuzzBases, mutate, rng } from '../../test/support/safetensors-fuzz.ts';
import { configureNativeHeaderReader, nativeHeaderAddon, nativeHeaderReaderStatus, NativeStatus } from './native-header-reader.ts';
import { inferFromTensors, takesNativeWalk } from './network-inference.ts';
import { HeaderReader, readSafetensorsHeader, SafetensorsError, type SafetensorsHeader } from './safetensors.ts';

// The addon is built by `npm install`; where it is turned off on purpose there is nothing to compare.
const { turnedOff } = nativeHeaderReaderStatus();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'native-header-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Outcome = { ok: true; header: SafetensorsHeader } | { ok: false; code: string; message: string };

function outcome(read: () => SafetensorsHeader): Outcome {
  try {
    return { ok: true, header: read() };
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

/** What a user of the header sees: every field, every tensor in data order, the metadata. */
function visible(o: Outcome) {
  if (!o.ok) return o;
  const { headerLength, dataOffset, fileSize, metadata, tensors } = o.header;
  return { headerLength, dataOffset, fileSize, metadata: metadata && { ...metadata }, tensors };
}

describe.skipIf(turnedOff)('native safetensors header reader', () => {
  it('is built and loaded', () => {
    expect(nativeHeaderReaderStatus()).toMatchObject({ active: true });
  });

  it('falls back instead of writing past columns that are too small or of another type', () => {
    new HeaderReader(); // gives the addon its dtype table
    const addon = nativeHeaderAddon()!;
    const file = path.join(dir, 'small.safetensors');
    fs.writeFileSync(file, fuzzBases()[0]);
    const f64 = (n: number) => new Float64Array(n);
    const i32 = (n: number) => new Int32Array(n);
    const u8 = (n: number) => new Uint8Array(n);
    const read = (dims: Float64Array, order: Uint32Array | Int32Array) =>
      addon.read(file, Buffer.alloc(1 << 16), 1e8, f64(5), f64(64), f64(64), f64(64), dims, i32(64), i32(64), i32(64), u8(64), u8(64), u8(64), order as Uint32Array);
    expect(read(f64(256), new Uint32Array(64))).toBe(NativeStatus.ok);
    expect(read(f64(255), new Uint32Array(64))).toBe(NativeStatus.fallback);
    expect(read(f64(256), new Int32Array(64))).toBe(NativeStatus.fallback);
    expect(addon.kohyaEvidence(Buffer.alloc(8), 10, i32(4), i32(4), u8(4), u8(4), f64(16), f64(21))).toBe(0);
  });

  it('agrees with the JavaScript reader on 12,000 mutated and truncated files, reusing its buffers throughout', () => {
    const random = rng(20261201);
    const bases = fuzzBases();
    const reader = new HeaderReader();
    const file = path.join(dir, 'fuzz.safetensors');
    let accepted = 0;
    for (let i = 0; i < 12_000; i++) {
      fs.writeFileSync(file, mutate(bases[i % bases.length], random));
      const native = reader.counts.native;
      const ours = outcome(() => reader.read(file));
      const javascript = outcome(() => readSafetensorsHeader(file));
      expect(visible(ours), `case ${i}`).toEqual(visible(javascript));
      if (ours.ok) expect(inferFromTensors(ours.header.table), `case ${i}`).toEqual(inferFromTensors(ours.header.table, { native: false }));
      if (reader.counts.native > native) {
        accepted++;
        expect(javascript.ok, `case ${i}: the native reader accepted what the JavaScript reader refuses`).toBe(true);
      }
    }
    // The mix must exercise the native path itself, not only the fall-backs.
    expect(accepted).toBeGreaterThan(500);
    expect(reader.counts.javascript).toBeGreaterThan(5000);
  }, 180_000); // 12,000 files through two readers: seconds alone, minutes on a loaded 2-core machine

  it('reads numbers and names at every length and alignment as the JavaScript reader does', () => {
    // The native reader takes numbers eight bytes at a time and names sixteen at a time: every spelling of a number
    // (leading zeros, fractions, exponents, eight digits and more) and every name length and alignment must come out
    // exactly as the JavaScript reader reads it, and a repeated name must never be accepted wherever it lies.
    const reader = new HeaderReader();
    const file = path.join(dir, 'edges.safetensors');
    const write = (entries: Array<[string, string, string]>, pad: string) => {
      // Each entry: name, shape text, element count as text (for sizes); F16 so a tensor of n elements takes 2n bytes.
      let offset = 0;
      const body = entries.map(([name, shape, count]) => {
        const size = 2 * Number(count);
        const text = `"${name}":{"dtype":"F16","shape":[${shape}],"data_offsets":[${offset},${offset + size}]}`;
        offset += Number.isFinite(size) ? size : 0;
        return text;
      });
      const header = Buffer.from(`{${pad}${body.join(',')}}`);
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(header.length));
      fs.writeFileSync(file, Buffer.concat([prefix, header]));
      // The tensor data as a sparse file (a shape of 123456789 elements needs 247 MB of it).
      if (offset < 2 ** 40) fs.truncateSync(file, 8 + header.length + offset);
    };
    const shapes = ['0', '1', '7', '10', '1234567', '12345678', '123456789', '01', '00', '1.0', '1e3', '2E1', '-1', '9007199254740993'];
    let accepted = 0;
    for (let pad = 0; pad < 16; pad++) {
      const padding = '"__metadata__":{"k":"' + 'v'.repeat(pad) + '"},';
      for (const shape of shapes) {
        write([['a', shape, String(Number(shape))], ['b', '3', '3']], padding);
        const ours = outcome(() => reader.read(file));
        expect(visible(ours), `shape ${shape}, pad ${pad}`).toEqual(visible(outcome(() => readSafetensorsHeader(file))));
        if (ours.ok) accepted++;
      }
      for (let length = 0; length <= 40; length++) {
        const name = 'n'.repeat(length);
        for (const [label, entries] of [
          ['plain', [[name, '2', '2'], [`${name}x`, '2', '2']]],
          ['repeated', [[name, '2', '2'], ['z', '1', '1'], [name, '2', '2']]],
          ['repeated next to itself', [['a', '1', '1'], [name, '2', '2'], [name, '2', '2']]],
          ['escaped', [[`${name}\\u0041`, '1', '1']]],
          ['non-ASCII', [[`${name}é`, '1', '1']]],
        ] as Array<[string, Array<[string, string, string]>]>) {
          write(entries, padding);
          const before = reader.counts.native;
          const ours = outcome(() => reader.read(file));
          expect(visible(ours), `${label} name of ${length}, pad ${pad}`).toEqual(visible(outcome(() => readSafetensorsHeader(file))));
          if (label.startsWith('repeated')) expect(ours.ok).toBe(false);
          if (reader.counts.native > before) accepted++;
        }
      }
    }
    expect(accepted).toBeGreaterThan(16 * 41);
  });

  it('reads every generated LoRA layout exactly as the JavaScript reader does, and infers the same facts', async () => {
    const library = path.join(dir, 'library');
    const { files } = await generateLibrary({ out: library, count: 150, seed: 7, maxRank: 2 });
    const reader = new HeaderReader();
    let kohya = 0;
    for (const f of files) {
      const ours = outcome(() => reader.read(f.path));
      expect(visible(ours), f.path).toEqual(visible(outcome(() => readSafetensorsHeader(f.path))));
      if (!ours.ok) continue;
      const facts = inferFromTensors(ours.header.table);
      expect(facts, f.path).toEqual(inferFromTensors(ours.header.table, { native: false }));
      if (takesNativeWalk(ours.header.table)) kohya++;
    }
    // Most generated files are named the kohya way and take the native walk; the rest exercise the fall-back.
    expect(kohya).toBeGreaterThan(files.length / 2);
    expect(kohya).toBeLessThan(files.length);
    // Every intact file stays on the native path (checkpoints and embeddings are valid safetensors too).
    expect(reader.counts.native).toBeGreaterThanOrEqual(files.filter((f) => !f.broken).length);
  });
});

describe('turning the native reader off', () => {
  it('uses the JavaScript reader when Config says so (LORA_MANAGER_NATIVE_READER=off), and the addon again once allowed', () => {
    const file = path.join(dir, 'off.safetensors');
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(file, Buffer.concat([length, header, Buffer.alloc(4)]));
    configureNativeHeaderReader({ enabled: false });
    try {
      expect(nativeHeaderReaderStatus()).toMatchObject({ active: false, turnedOff: true });
      expect(nativeHeaderAddon()).toBeNull();
      const reader = new HeaderReader();
      expect(visible(outcome(() => reader.read(file)))).toEqual(visible(outcome(() => readSafetensorsHeader(file))));
      expect(reader.counts.native).toBe(0);
    } finally {
      configureNativeHeaderReader({ enabled: true });
    }
    expect(nativeHeaderReaderStatus().turnedOff).toBe(false);
  });
});
