import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile } from './hashes.ts';

describe('file hashes', () => {
  it('computes SHA-256, AutoV1 (64 KiB at 1 MiB), AutoV2 and the tensor-data hash in one pass, across chunk boundaries', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hash-')), 'x.bin');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 777);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
    fs.writeFileSync(file, bytes);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    for (const chunkSize of [4096, 65_537, 4 * 1024 * 1024]) {
      const h = await hashFile(file, { dataOffset: 1000, chunkSize });
      expect(h).toEqual({
        sha256: sha(bytes),
        autov2: sha(bytes).slice(0, 10),
        autov1: sha(bytes.subarray(0x100000, 0x110000)).slice(0, 8),
        dataHash: sha(bytes.subarray(1000)),
        size: bytes.length,
      });
    }
  });

  it('gives small files the AutoV1 of nothing, as A1111 does', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hash-')), 'small.bin');
    fs.writeFileSync(file, 'tiny');
    expect((await hashFile(file)).autov1).toBe('e3b0c442');
    expect((await hashFile(file)).dataHash).toBeNull();
  });

  it('stops when aborted', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hash-')), 'y.bin');
    fs.writeFileSync(file, Buffer.alloc(1 << 20));
    const controller = new AbortController();
    controller.abort();
    await expect(hashFile(file, { signal: controller.signal, chunkSize: 4096 })).rejects.toThrow();
  });
});
