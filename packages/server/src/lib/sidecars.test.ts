import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryIndex, findSidecars, mergeA1111Json, readSidecars } from './sidecars.ts';

function dir(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecars-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(d, name), content);
  return d;
}

const found = (d: string, model: string) => findSidecars(d, model, new DirectoryIndex(fs.readdirSync(d)));

describe('sidecar files', () => {
  it('finds every convention, and previews in the peers’ order (NAME.png before NAME.preview.png), case-insensitively', () => {
    const d = dir({
      'm.safetensors': '',
      'm.civitai.info': '{}',
      'm.json': '{}',
      'm.metadata.json': '{}',
      'M.CM-INFO.JSON': '{}',
      'm.safetensors.rgthree-info.json': '{}',
      'm.description.txt': 'd',
      'm.preview.png': '',
      'm.png': '',
      'mm.png': '',
    });
    const s = found(d, 'm.safetensors');
    expect(s.sidecars.map((r) => [r.kind, path.basename(r.path)])).toEqual([
      ['civitai_info', 'm.civitai.info'],
      ['json', 'm.json'],
      ['lm_metadata', 'm.metadata.json'],
      ['cm_info', 'M.CM-INFO.JSON'],
      ['rgthree_info', 'm.safetensors.rgthree-info.json'],
      ['description_txt', 'm.description.txt'],
    ]);
    expect(path.basename(s.preview!)).toBe('m.png');
    expect(path.basename(found(dir({ 'x.safetensors': '', 'x.preview.mp4': '', 'x.thumb.jpg': '' }), 'x.safetensors').preview!)).toBe('x.thumb.jpg');
    expect(found(dir({ 'y.safetensors': '' }), 'y.safetensors')).toEqual({ sidecars: [], preview: null });
  });

  it("reads A1111's NAME.json (0 = no preferred weight) and tells SDNext's CivitAI record apart", () => {
    const a1111 = dir({ 'a.json': JSON.stringify({ 'activation text': 'hero', 'preferred weight': 0, 'negative text': 'bad', notes: 'n', 'sd version': 'SDXL', description: 'desc' }) });
    const f = readSidecars([{ kind: 'json', path: path.join(a1111, 'a.json') }]);
    expect(f).toMatchObject({ activationText: 'hero', negativeText: 'bad', notes: 'n', sdVersion: 'SDXL', description: 'desc', a1111JsonPath: path.join(a1111, 'a.json') });
    expect(f.preferredWeight).toBeUndefined();
    const sdnext = dir({ 's.json': JSON.stringify({ id: 5, name: 'Model', description: '<p>Hi &amp; bye</p>', tags: ['style'], creator: { username: 'me' }, modelVersions: [{ id: 9, name: 'v1', baseModel: 'Pony', trainedWords: ['tok'] }] }) });
    const g = readSidecars([{ kind: 'json', path: path.join(sdnext, 's.json') }]);
    expect(g).toMatchObject({ description: 'Hi & bye', tags: ['style'], author: 'me', baseModel: 'Pony', trainedWords: ['tok'], civitai: { modelId: 5, versionId: 9, status: 'found' } });
    expect(g.a1111JsonPath).toBeUndefined();
  });

  it('reads Civitai Helper, LoRA Manager, StabilityMatrix and rgthree files; {} means "not on CivitAI"; bad ones are reported', () => {
    const version = { id: 2, modelId: 1, name: 'v2', baseModel: 'SDXL 1.0', trainedWords: ['a', 'b'], nsfwLevel: 1, model: { name: 'M' }, files: [{ primary: true, name: 'f', sizeKB: 10, hashes: { SHA256: 'ABC' } }] };
    const d = dir({
      'c.civitai.info': JSON.stringify(version),
      'e.civitai.info': '{}',
      'l.metadata.json': JSON.stringify({ notes: 'lm', base_model: 'Illustrious', tags: ['t1'], usage_tips: JSON.stringify({ strength: 0.6 }), civitai: { trainedWords: ['w'] } }),
      'k.cm-info.json': JSON.stringify({ ModelId: 7, VersionId: 8, TrainedWords: ['cm'], Tags: ['t2'], BaseModel: 'Pony', AuthorUsername: 'x' }),
      'r.rgthree-info.json': JSON.stringify({ trainedWords: [{ word: 'rg' }], userNote: 'note' }),
      'bad.json': '{oops',
    });
    expect(readSidecars([{ kind: 'civitai_info', path: path.join(d, 'c.civitai.info') }])).toMatchObject({
      trainedWords: ['a', 'b'],
      baseModel: 'SDXL 1.0',
      versionName: 'v2',
      modelName: 'M',
      civitai: { modelId: 1, versionId: 2, status: 'found', primaryFile: { sha256: 'abc', sizeKb: 10 } },
    });
    expect(readSidecars([{ kind: 'civitai_info', path: path.join(d, 'e.civitai.info') }]).civitai.status).toBe('not_found');
    expect(readSidecars([{ kind: 'lm_metadata', path: path.join(d, 'l.metadata.json') }])).toMatchObject({ notes: 'lm', baseModel: 'Illustrious', tags: ['t1'], preferredWeight: 0.6, trainedWords: ['w'] });
    expect(readSidecars([{ kind: 'cm_info', path: path.join(d, 'k.cm-info.json') }])).toMatchObject({ trainedWords: ['cm'], tags: ['t2'], baseModel: 'Pony', author: 'x', civitai: { modelId: 7, versionId: 8 } });
    expect(readSidecars([{ kind: 'rgthree_info', path: path.join(d, 'r.rgthree-info.json') }])).toMatchObject({ trainedWords: ['rg'], notes: 'note' });
    const bad = readSidecars([{ kind: 'json', path: path.join(d, 'bad.json') }, { kind: 'json', path: path.join(d, 'missing.json') }]);
    expect(bad.errors.map((e) => path.basename(e.path))).toEqual(['bad.json', 'missing.json']);
  });

  it("A1111's file wins over other tools for the fields it owns", () => {
    const d = dir({ 'x.json': JSON.stringify({ notes: 'a1111' }), 'x.metadata.json': JSON.stringify({ notes: 'lm' }) });
    const f = readSidecars([{ kind: 'lm_metadata', path: path.join(d, 'x.metadata.json') }, { kind: 'json', path: path.join(d, 'x.json') }]);
    expect(f.notes).toBe('a1111');
    expect(f.sources.notes).toBe('a1111_json');
  });

  it('merges into NAME.json without dropping keys it does not own, and refuses to overwrite a file that is not an object', () => {
    const d = dir({ 'x.json': JSON.stringify({ 'sd version': 'SD1', extensions: { k: 1 } }), 'arr.json': '[1]' });
    mergeA1111Json(path.join(d, 'x.json'), { activationText: 'hi', preferredWeight: null });
    expect(JSON.parse(fs.readFileSync(path.join(d, 'x.json'), 'utf8'))).toEqual({ 'sd version': 'SD1', extensions: { k: 1 }, 'activation text': 'hi', 'preferred weight': 0 });
    expect(() => mergeA1111Json(path.join(d, 'arr.json'), { notes: 'x' })).toThrow(/not a JSON object/);
    expect(fs.readFileSync(path.join(d, 'arr.json'), 'utf8')).toBe('[1]');
  });
});
