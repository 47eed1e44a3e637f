import { describe, expect, it } from 'vitest';
import { buildMatchIndex, type MatchCandidate } from './lora-match.ts';

const sha = (c: string) => c.repeat(64);
const candidates: MatchCandidate[] = [
  { id: 'a', name: 'Fox Style', file_path: '/lib/styles/foxStyle_v2.safetensors', sha256: sha('a'), autov2: sha('a').slice(0, 10), autov3: '111111111111' },
  { id: 'b', name: 'Knight', file_path: '/lib/knight.safetensors', sha256: sha('b'), autov2: null, autov3: null, alias: 'knightArmor_v1' },
  { id: 'c', name: 'unhashed', file_path: '/lib/Moody Light.safetensors', sha256: null, autov2: null, autov3: null },
];
const index = buildMatchIndex(candidates);

describe('matching recipe LoRAs to the catalogue', () => {
  it('prefers hashes, whatever the name says, and reports which hash', () => {
    expect(index.match({ name: 'whatever', hash: sha('a') })).toMatchObject({ adapter: { id: 'a' }, kind: 'sha256' });
    expect(index.match({ name: 'whatever', hash: sha('b').slice(0, 10).toUpperCase() })).toMatchObject({ adapter: { id: 'b' }, kind: 'autov2' });
    expect(index.match({ name: 'knight', hash: '111111111111' })).toMatchObject({ adapter: { id: 'a' }, kind: 'autov3' });
    expect(index.match({ name: 'x', hash: 'bbbbbbbb' })).toMatchObject({ adapter: { id: 'b' }, kind: 'short_hash' });
  });

  it('falls back to the file name (without folders or extension), then the name, case-insensitively', () => {
    expect(index.match({ name: 'FOXSTYLE_V2', hash: null })).toMatchObject({ adapter: { id: 'a' }, kind: 'file_name' });
    expect(index.match({ name: 'loras/moody light.safetensors', hash: null })).toMatchObject({ adapter: { id: 'c' }, kind: 'file_name' });
    expect(index.match({ name: 'fox style', hash: 'cccccccccccc' })).toMatchObject({ adapter: { id: 'a' }, kind: 'name' });
    expect(index.match({ name: 'nothing like it', hash: '0123456789' })).toBeNull();
  });

  it('matches the alias a file was trained under (ss_output_name), after the file name and before the name', () => {
    expect(index.match({ name: 'KnightArmor_V1', hash: null })).toMatchObject({ adapter: { id: 'b' }, kind: 'alias' });
    expect(index.match({ name: 'loras/knightArmor_v1.safetensors', hash: null })).toMatchObject({ adapter: { id: 'b' }, kind: 'alias' });
    const clash = buildMatchIndex([...candidates, { id: 'd', name: 'other', file_path: '/lib/knightArmor_v1.safetensors', sha256: null, autov2: null, autov3: null }]);
    expect(clash.match({ name: 'knightArmor_v1', hash: null })).toMatchObject({ adapter: { id: 'd' }, kind: 'file_name' });
  });
});
