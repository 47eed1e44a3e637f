/**
 * The safetensors fuzzing kit shared by the JavaScript reader's tests and the native reader's differential test:
 * sample files, a mutator, and the reference rules written the plain way as an oracle.
 */
import { rng } from '../../scripts/fixtures/library-generator.ts';
import { encodeHeader, safetensorsBytes, type TensorSpec } from '../../scripts/fixtures/safetensors-writer.ts';
import { DTYPE_BITS, MAX_HEADER_SIZE, type SafetensorsHeader } from '../../src/lib/safetensors.ts';

export const LORA: TensorSpec[] = [
  { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.alpha', dtype: 'F16', shape: [] },
  { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', dtype: 'F16', shape: [4, 32] },
  { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight', dtype: 'F16', shape: [32, 4] },
  { name: 'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', dtype: 'F32', shape: [4, 8] },
  { name: 'empty', dtype: 'F32', shape: [0, 3] },
];
export const META = { ss_network_dim: '4', ss_output_name: 'tiny', ss_tag_frequency: JSON.stringify({ '10_tiny': { 'a "quoted" tag': 3, 'ünïcode': 1 } }) };

export function withHeader(json: string, dataLength: number): Buffer {
  const header = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([prefix, header, Buffer.alloc(dataLength)]);
}

/** The reference rules written the plain way (JSON.parse + checks) as an oracle. It cannot see duplicate keys. */
/** Files to mutate: a LoRA with and without metadata, other dtypes, metadata only, and a spaced-out spelling. */
export function fuzzBases(): Buffer[] {
  return [
    safetensorsBytes(LORA, META),
    safetensorsBytes(LORA, null),
    safetensorsBytes([{ name: 'x', dtype: 'BF16', shape: [3, 5] }], { 'modelspec.title': 'T', 'ss_resolution': '(512, 512)' }),
    safetensorsBytes([], { only: 'metadata' }),
    Buffer.concat([encodeHeader([{ name: 'f4', dtype: 'F4', shape: [4] }, { name: 'u', dtype: 'U8', shape: [1] }], null).prefix, Buffer.alloc(3)]),
    // Spaces after colons and commas: the field-by-field path instead of the compact fast path.
    spaced(safetensorsBytes(LORA, { a: 'b' })),
  ];
}

export function referenceParse(bytes: Uint8Array): { ok: true; value: Omit<SafetensorsHeader, 'table'> } | { ok: false } {
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
export function hasDuplicateKeys(bytes: Uint8Array): boolean {
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


export { rng };

const SIGNIFICANT = [...'{}[]":,\\0123456789-.eE tfn'].map((c) => c.charCodeAt(0)).concat([0x00, 0x0a, 0x80, 0xc3, 0xff]);

export function mutate(base: Buffer, random: () => number): Buffer {
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
export function spaced(bytes: Buffer): Buffer {
  const n = Number(bytes.readBigUInt64LE(0));
  const json = JSON.stringify(JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))).replace(/":/g, '": ').replace(/,"/g, ', "');
  return withLength(Buffer.from(json), bytes.subarray(8 + n));
}

export function withLength(header: Buffer, data: Uint8Array): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([prefix, header, data]);
}

