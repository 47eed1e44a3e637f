import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeHeader, safetensorsBytes, writeSafetensors, type TensorSpec } from '../../scripts/fixtures/safetensors-writer.ts';
import { DTYPE_BITS, MAX_HEADER_SIZE, parseSafetensors, readSafetensorsHeader, SafetensorsError, type SafetensorsHeader } from './safetensors.ts';

const LORA: TensorSpec[] = [
  { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.alpha', dtype: 'F16', shape: [] },
  { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', dtype: 'F16', shape: [4, 32] },
  { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight', dtype: 'F16', shape: [32, 4] },
  { name: 'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', dtype: 'F32', shape: [4, 8] },
  { name: 'empty', dtype: 'F32', shape: [0, 3] },
];
const META = { ss_network_dim: '4', ss_output_name: 'tiny', ss_tag_frequency: JSON.stringify({ '10_tiny': { 'a "quoted" tag': 3, 'ünïcode': 1 } }) };

function withHeader(json: string, dataLength: number): Buffer {
  const header = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([prefix, header, Buffer.alloc(dataLength)]);
}

function codeOf(bytes: Uint8Array): string {
  try {
    parseSafetensors(bytes);
    return 'ok';
  } catch (error) {
    if (error instanceof SafetensorsError) return error.code;
    throw error;
  }
}

describe('safetensors header reader', () => {
  it('reads a header spelled with spaces exactly like the compact one', () => {
    const plain = { ss_network_dim: '4', ss_output_name: 'tiny' };
    const compact = parseSafetensors(safetensorsBytes(LORA, plain));
    const loose = parseSafetensors(spaced(safetensorsBytes(LORA, plain)));
    expect(loose.tensors).toEqual(compact.tensors);
    expect(loose.metadata).toEqual(compact.metadata);
  });

  it('reads a file written the reference way: metadata, tensors in data order, offsets and sizes', () => {
    const bytes = safetensorsBytes(LORA, META);
    const header = parseSafetensors(bytes);
    expect(header.metadata).toEqual(META);
    expect(header.dataOffset).toBe(8 + header.headerLength);
    expect(header.headerLength % 8).toBe(0);
    expect(header.tensors.map((t) => t.name)).toContain('lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight');
    const down = header.tensors.find((t) => t.name.endsWith('proj_in.lora_down.weight'))!;
    expect(down).toMatchObject({ dtype: 'F16', shape: [4, 32] });
    expect(down.end - down.begin).toBe(4 * 32 * 2);
    expect(header.tensors.at(-1)!.end + header.dataOffset).toBe(bytes.length);
  });

  it('reads only the header from disk, however large the data', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-'));
    const file = path.join(dir, 'big.safetensors');
    const { size } = writeSafetensors(file, [{ name: 'w', dtype: 'F16', shape: [8192, 8192] }], { a: 'b' });
    expect(size).toBeGreaterThan(128 * 1024 * 1024);
    const header = readSafetensorsHeader(file);
    expect(header.fileSize).toBe(size);
    expect(header.raw.length).toBe(header.headerLength);
    expect(header.metadata).toEqual({ a: 'b' });
    fs.rmSync(dir, { recursive: true });
  });

  it('accepts what the format allows: padding on both sides, pretty printing, escapes, no metadata, empty header', () => {
    const body = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(codeOf(withHeader(`${body}      `, 8))).toBe('ok');
    expect(codeOf(withHeader(`\n\t  ${body}`, 8))).toBe('ok');
    expect(codeOf(withHeader(JSON.stringify(JSON.parse(body), null, 2), 8))).toBe('ok');
    expect(codeOf(withHeader('{"w":{"dtype": "F32","shape": [2],"data_offsets": [0, 8] }}', 8))).toBe('ok');
    expect(codeOf(withHeader('{"w":{"dtype":"F32" ,"shape":[2] , "data_offsets":[0,8]}}', 8))).toBe('ok');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', 8))).toBe('ok');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2]}}', 0))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2],"shape":[2],"data_offsets":[0,8]}}', 8))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"w\\u0041\\n":{"shape":[2],"extra":{"x":[1,2.5e3,null,true]},"dtype":"F32","data_offsets":[0,8]}}', 8))).toBe('ok');
    expect(parseSafetensors(withHeader('{"w\\u0041":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8)).tensors[0].name).toBe('wA');
    expect(parseSafetensors(withHeader('{"__metadata__":null,"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8)).metadata).toBeNull();
    expect(codeOf(withHeader('{}', 0))).toBe('ok');
    expect(codeOf(withHeader('{"odd":{"dtype":"F99","shape":[3],"data_offsets":[0,5]}}', 5))).toBe('ok');
  });

  it('applies the reference checks in order, each with its own code', () => {
    const ok = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(codeOf(Buffer.alloc(5))).toBe('header_too_small');
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(BigInt(MAX_HEADER_SIZE + 1));
    expect(codeOf(huge)).toBe('header_too_large');
    huge.writeBigUInt64LE(0xffffffffffffffffn);
    expect(codeOf(huge)).toBe('header_too_large');
    huge.writeBigUInt64LE(100n);
    expect(codeOf(huge)).toBe('invalid_header_length');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', 8))).toBe('invalid_header_json');
    expect(codeOf(Buffer.concat([withHeader('{"\xff":1}', 0).subarray(0, 8), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])]))).not.toBe('ok');
    expect(codeOf(withHeader('{"__metadata__":{"a":1}}', 0))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', 8))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', 8))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}', 8))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12))).toBe('invalid_offset');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12))).toBe('invalid_offset');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[9007199254740991,2],"data_offsets":[0,8]}}', 8))).toBe('validation_overflow');
    expect(codeOf(withHeader('{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2))).toBe('misaligned_slice');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8))).toBe('tensor_invalid_info');
    expect(codeOf(withHeader(ok, 7))).toBe('metadata_incomplete_buffer');
    expect(codeOf(withHeader(ok, 9))).toBe('metadata_incomplete_buffer');
    expect(codeOf(withHeader(`${ok} x`, 8))).toBe('invalid_header_json');
    expect(codeOf(withHeader(`\ufeff${ok}`, 8))).toBe('invalid_header_json');
  });

  it('refuses duplicate keys, which JSON.parse would silently merge', () => {
    const dup = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(codeOf(withHeader(dup, 8))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"__metadata__":{"a":"1","a":"2"}}', 0))).toBe('invalid_header_json');
    expect(codeOf(withHeader('{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4))).toBe('invalid_header_json');
  });

  it('reports unreadable files as io_error', () => {
    expect(() => readSafetensorsHeader('/nonexistent/x.safetensors')).toThrowError(expect.objectContaining({ code: 'io_error' }));
  });
});

// ── Fuzzing ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** The reference rules written the plain way (JSON.parse + checks) as an oracle. It cannot see duplicate keys. */
function referenceParse(bytes: Uint8Array): { ok: true; value: Omit<SafetensorsHeader, 'table'> } | { ok: false } {
  if (bytes.length < 8) return { ok: false };
  const n = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_SIZE) || 8n + n > BigInt(bytes.length)) return { ok: false };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + Number(n))));
  } catch {
    return { ok: false };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { ok: false };
  const uint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsHeader['tensors'] = [];
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) return { ok: false };
      if (!Object.values(value as object).every((v) => typeof v === 'string')) return { ok: false };
      metadata = value as Record<string, string>;
      continue;
    }
    const t = value as Record<string, unknown>;
    if (!t || typeof t !== 'object' || Array.isArray(t) || typeof t.dtype !== 'string') return { ok: false };
    if (!Array.isArray(t.shape) || !t.shape.every(uint)) return { ok: false };
    if (!Array.isArray(t.data_offsets) || t.data_offsets.length !== 2 || !t.data_offsets.every(uint)) return { ok: false };
    tensors.push({ name: key, dtype: t.dtype, shape: t.shape as number[], begin: t.data_offsets[0] as number, end: t.data_offsets[1] as number });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of tensors) {
    if (t.begin !== at || t.end < t.begin) return { ok: false };
    // The reference multiplies with 64-bit overflow checks: an intermediate product past 2^64 is an error.
    let count = 1;
    for (const d of t.shape) {
      count *= d;
      if (count >= 2 ** 64) return { ok: false };
    }
    if (!Number.isSafeInteger(count)) return { ok: false };
    const bits = DTYPE_BITS[t.dtype];
    if (bits !== undefined && (!Number.isSafeInteger(count * bits) || (count * bits) % 8 !== 0 || t.end - t.begin !== (count * bits) / 8)) return { ok: false };
    at = t.end;
  }
  if (8 + Number(n) + at !== bytes.length) return { ok: false };
  return { ok: true, value: { headerLength: Number(n), dataOffset: 8 + Number(n), fileSize: bytes.length, metadata, tensors } };
}

/** For JSON that parses: does any object repeat a key? (JSON.parse keeps the last; we refuse the file.) */
function hasDuplicateKeys(bytes: Uint8Array): boolean {
  const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readBigUInt64LE(0));
  const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = stack.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return true;
        keys.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack.at(-1) !== null;
    }
  }
  return false;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const SIGNIFICANT = [...'{}[]":,\\0123456789-.eE tfn'].map((c) => c.charCodeAt(0)).concat([0x00, 0x0a, 0x80, 0xc3, 0xff]);

function mutate(base: Buffer, random: () => number): Buffer {
  const int = (max: number) => Math.floor(random() * max);
  let b: Buffer = Buffer.from(base);
  const headerEnd = 8 + Number(b.readBigUInt64LE(0));
  const inHeader = () => 8 + int(Math.max(1, headerEnd - 8));
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    switch (int(11)) {
      case 0: // truncate
        b = b.subarray(0, int(b.length + 1));
        break;
      case 1: // flip a bit in the header
        if (b.length > 8) b[Math.min(b.length - 1, inHeader())] ^= 1 << int(8);
        break;
      case 2: // a JSON-significant byte in the header
        if (b.length > 8) b[Math.min(b.length - 1, inHeader())] = SIGNIFICANT[int(SIGNIFICANT.length)];
        break;
      case 3: {
        // insert bytes
        const at = int(b.length + 1);
        const extra = Buffer.from(Array.from({ length: 1 + int(4) }, () => SIGNIFICANT[int(SIGNIFICANT.length)]));
        b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
        break;
      }
      case 4: {
        // delete a range
        const at = int(b.length);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(16)))]);
        break;
      }
      case 5: // a different length prefix
        if (b.length >= 8) {
          const choices = [0n, 1n, 2n, BigInt(headerEnd - 8 + int(5) - 2), BigInt(MAX_HEADER_SIZE), BigInt(MAX_HEADER_SIZE + 1), 1n << 63n, BigInt(int(b.length))];
          b.writeBigUInt64LE(BigInt.asUintN(64, choices[int(choices.length)]), 0);
        }
        break;
      case 6: // append bytes after the data
        b = Buffer.concat([b, Buffer.alloc(1 + int(8), int(256))]);
        break;
      case 7: {
        // replace one number in the header with another
        const text = b.subarray(8, headerEnd).toString('latin1');
        const numbers = [...text.matchAll(/\d+/g)];
        if (numbers.length) {
          const m = numbers[int(numbers.length)];
          const replacement = ['0', '1', '-1', '1.0', '1e3', '9007199254740993', String(int(100000)), '00', '18446744073709551615'][int(9)];
          const edited = text.slice(0, m.index) + replacement + text.slice(m.index! + m[0].length);
          b = withLength(Buffer.from(edited, 'latin1'), b.subarray(headerEnd));
        }
        break;
      }
      case 8: {
        // duplicate, drop or reorder a tensor entry at the JSON level
        try {
          const json = JSON.parse(b.subarray(8, headerEnd).toString('utf8')) as Record<string, unknown>;
          const keys = Object.keys(json);
          const key = keys[int(keys.length)];
          let text: string;
          if (random() < 0.5 && key) {
            const entry = `${JSON.stringify(key)}:${JSON.stringify(json[key])}`;
            text = JSON.stringify(json).replace(/^\{/, `{${entry},`);
          } else {
            if (key) delete json[key];
            text = JSON.stringify(json);
          }
          b = withLength(Buffer.from(text), b.subarray(headerEnd));
        } catch {
          /* already broken */
        }
        break;
      }
      case 9: {
        // a type change at the JSON level
        try {
          const json = JSON.parse(b.subarray(8, headerEnd).toString('utf8')) as Record<string, any>;
          const keys = Object.keys(json);
          const key = keys[int(keys.length)];
          if (key) {
            const choices = [null, 1, 'x', [], {}, { dtype: 'F16' }, { ...json[key], dtype: 'Q7' }, { ...json[key], shape: [int(5)] }, { ...json[key], extra: { deep: [[[]]] } }];
            json[key] = key === '__metadata__' ? { ...json[key], bad: choices[int(choices.length)] } : choices[int(choices.length)];
          }
          b = withLength(Buffer.from(JSON.stringify(json)), b.subarray(headerEnd));
        } catch {
          /* already broken */
        }
        break;
      }
      default: // grow or shrink the data
        b = random() < 0.5 ? b.subarray(0, Math.max(0, b.length - 1 - int(8))) : Buffer.concat([b, Buffer.alloc(1 + int(8))]);
    }
  }
  return b;
}

/** The same file with its header re-spelled `{"a": 1, "b": 2}`. */
function spaced(bytes: Buffer): Buffer {
  const n = Number(bytes.readBigUInt64LE(0));
  const json = JSON.stringify(JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))).replace(/":/g, '": ').replace(/,"/g, ', "');
  return withLength(Buffer.from(json), bytes.subarray(8 + n));
}

function withLength(header: Buffer, data: Uint8Array): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([prefix, header, data]);
}

describe('safetensors fuzzing', () => {
  it('turns 12,000 mutated and truncated files into a header or a typed error, never accepting what the reference refuses', () => {
    const random = rng(20251126);
    const bases = [
      safetensorsBytes(LORA, META),
      safetensorsBytes(LORA, null),
      safetensorsBytes([{ name: 'x', dtype: 'BF16', shape: [3, 5] }], { 'modelspec.title': 'T', 'ss_resolution': '(512, 512)' }),
      safetensorsBytes([], { only: 'metadata' }),
      Buffer.concat([encodeHeader([{ name: 'f4', dtype: 'F4', shape: [4] }, { name: 'u', dtype: 'U8', shape: [1] }], null).prefix, Buffer.alloc(3)]),
      // Spaces after colons and commas: the field-by-field path instead of the compact fast path.
      spaced(safetensorsBytes(LORA, { a: 'b' })),
    ];
    const outcomes: Record<string, number> = {};
    let disagreements = 0;
    for (let i = 0; i < 12_000; i++) {
      const bytes = mutate(bases[i % bases.length], random);
      let ours: SafetensorsHeader | SafetensorsError;
      try {
        ours = parseSafetensors(bytes);
      } catch (error) {
        if (!(error instanceof SafetensorsError)) throw new Error(`untyped error on case ${i}: ${String(error)}`);
        ours = error;
      }
      const reference = referenceParse(bytes);
      if (ours instanceof SafetensorsError) {
        outcomes[ours.code] = (outcomes[ours.code] ?? 0) + 1;
        // We may refuse more than JSON.parse shows: duplicate keys and non-integer spellings such as 1.0 or 1e3.
        if (reference.ok && !/duplicate|non-negative integer/.test(ours.message) && !hasDuplicateKeys(bytes)) disagreements++;
      } else {
        outcomes.ok = (outcomes.ok ?? 0) + 1;
        expect(reference.ok, `case ${i}: accepted what the reference rules refuse`).toBe(true);
        if (reference.ok) {
          expect(ours.tensors).toEqual(reference.value.tensors);
          expect(ours.metadata === null ? null : { ...ours.metadata }).toEqual(reference.value.metadata);
        }
      }
    }
    expect(disagreements).toBe(0);
    // The mix must really exercise both outcomes and most checks.
    expect(outcomes.ok).toBeGreaterThan(500);
    for (const code of ['header_too_small', 'header_too_large', 'invalid_header_length', 'invalid_header_json', 'invalid_offset', 'tensor_invalid_info', 'metadata_incomplete_buffer']) {
      expect(outcomes[code], code).toBeGreaterThan(0);
    }
  });
});
