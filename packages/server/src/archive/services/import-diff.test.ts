import type { Adapter } from '@lora-manager/contract';
import { describe, expect, it } from 'vitest';
import { adapterDifferences } from './import-diff.ts';
import type { AdapterDocument } from './import-reader.ts';

const here = {
  id: 'a',
  name: 'Ink',
  version: 'v1',
  description: null,
  tags: ['style'],
  trained_words: [],
  rating: 3,
  notes: 'mine',
  sha256: 'b'.repeat(64),
  hash_status: 'hashed',
  updated_at: '2026-02-01T00:00:00.000Z',
  file_size: 1000,
  extra: { a: 1, b: 2 },
} as unknown as Adapter;

describe('adapterDifferences', () => {
  it('ignores derived fields (hashes, updated_at, file facts) and fields the archive does not carry', () => {
    const doc = { id: 'a', name: 'Ink', version: 'v1', sha256: null, hash_status: null, updated_at: '2025-01-01T00:00:00.000Z', file_size: 5 } as AdapterDocument;
    expect(adapterDifferences(doc, here)).toEqual([]);
  });

  it('treats null, empty text and empty lists alike, and objects by value whatever their key order', () => {
    const doc = { name: 'Ink', description: '', trained_words: null, extra: { b: 2, a: 1 } } as unknown as AdapterDocument;
    expect(adapterDifferences(doc, here)).toEqual([]);
  });

  it('lists each field a person could have changed, with both values as text, long ones cut', () => {
    const doc = { name: 'Ink', rating: 5, notes: 'x'.repeat(500), tags: ['style', 'ink'] } as unknown as AdapterDocument;
    const diff = adapterDifferences(doc, here);
    expect(diff.map((d) => d.field)).toEqual(['rating', 'notes', 'tags']);
    expect(diff[0]).toEqual({ field: 'rating', archive: '5', current: '3' });
    expect(diff[1].archive).toHaveLength(200);
    expect(diff[2]).toEqual({ field: 'tags', archive: '["style","ink"]', current: '["style"]' });
  });
});
