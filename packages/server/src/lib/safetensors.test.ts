import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { safetensorsBytes, writeSafetensors } from '../../scripts/fixtures/safetensors-writer.ts';
import { fuzzBases, hasDuplicateKeys, LORA, META, mutate, referenceParse, rng, spaced, withHeader } from '../../test/support/safetensors-fuzz.ts';
import { MAX_HEADER_SIZE, parseSafetensors, readSafetensorsHeader, SafetensorsError, type SafetensorsHeader } from './safetensors.ts';

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

describe('safetensors fuzzing', () => {
  it('turns 12,000 mutated and truncated files into a header or a typed error, never accepting what the reference refuses', () => {
    const random = rng(20251126);
    const bases = fuzzBases();
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
