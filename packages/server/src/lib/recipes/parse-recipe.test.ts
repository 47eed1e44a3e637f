import { describe, expect, it } from 'vitest';
import {
  a1111Infotext,
  civitaiImageItem,
  comfyPromptGraph,
  comfyWorkflow,
  jpegWithComment,
  plainPng,
  pngWithText,
  sdnextInfotext,
  webpWithComment,
} from '../../../test/support/recipe-images.ts';
import { parseRecipeImage, parseRecipeText } from './parse-recipe.ts';
import { RecipeParseError } from './recipe-draft.ts';

const TWO = [
  { name: 'foxStyle', weight: 0.8, hash: '0123456789ab' },
  { name: 'snowScene', weight: 0.45, hash: 'ba9876543210' },
];

describe('A1111 / Forge infotext', () => {
  it('reads prompt, negative, every parameter and the LoRAs with their hashes', () => {
    const draft = parseRecipeText(a1111Infotext(TWO));
    expect(draft.source).toBe('a1111');
    expect(draft.prompt).toBe('masterpiece, a red fox in the snow');
    expect(draft.negative_prompt).toBe('lowres, blurry');
    expect(draft.loras.map((l) => [l.name, l.weight, l.hash])).toEqual([
      ['foxStyle', 0.8, '0123456789ab'],
      ['snowScene', 0.45, 'ba9876543210'],
    ]);
    expect(draft.params).toMatchObject({
      checkpoint: 'ponyDiffusionV6XL',
      model_hash: '6ce0161689',
      sampler: 'DPM++ 2M',
      scheduler: 'Karras',
      steps: 28,
      cfg_scale: 6.5,
      width: 832,
      height: 1216,
      seed: 1234567890,
      clip_skip: 2,
      hires: { upscale: 1.5, steps: 12, upscaler: '4x-UltraSharp', denoising_strength: 0.4 },
      adetailer: { 'ADetailer model': 'face_yolov8n.pt', 'ADetailer confidence': '0.3' },
    });
    expect(draft.embeddings).toEqual([{ name: 'easynegative', hash: 'c74b4e810b' }]);
    expect(draft.extra.Version).toBe('v1.10.1');
  });

  it('reads separate text-encoder / UNet weights and LyCORIS tokens', () => {
    const draft = parseRecipeText('a cat <lora:catA:0.6:0.9> <lyco:lokrB:0.7>\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512');
    expect(draft.loras.map((l) => [l.name, l.weight, l.clip_weight])).toEqual([
      ['catA', 0.9, 0.6],
      ['lokrB', 0.7, null],
    ]);
  });

  it('keeps a LoRA listed only in Lora hashes (used by a hires prompt) with weight 1', () => {
    const draft = parseRecipeText('a dog\nSteps: 20, Sampler: Euler, CFG scale: 7, Lora hashes: "hiresOnly: abcdefabcdef"');
    expect(draft.loras).toEqual([{ name: 'hiresOnly', weight: 1, clip_weight: null, hash: 'abcdefabcdef', civitai_model_id: null, civitai_version_id: null }]);
  });

  it('reads SDNext LoRA networks / LoRA hashes positionally', () => {
    const draft = parseRecipeText(sdnextInfotext([{ name: 'knightArmor', weight: 0.7, hash8: 'deadbeef' }, { name: 'rimLight', weight: 0.3, hash8: 'cafebabe' }]));
    expect(draft.source).toBe('sdnext');
    expect(draft.negative_prompt).toBe('');
    expect(draft.loras.map((l) => [l.name, l.weight, l.hash])).toEqual([
      ['knightArmor', 0.7, 'deadbeef'],
      ['rimLight', 0.3, 'cafebabe'],
    ]);
  });

  it('reads a prompt with only LoRA tokens and no parameter line', () => {
    expect(parseRecipeText('<lora:solo:0.5> a tree').loras[0]).toMatchObject({ name: 'solo', weight: 0.5 });
  });
});

describe('images', () => {
  const infotext = a1111Infotext(TWO);

  it('PNG tEXt and iTXt (non-Latin-1 text) parameters', async () => {
    expect(parseRecipeImage(await pngWithText({ parameters: infotext })).loras).toHaveLength(2);
    const unicode = parseRecipeImage(await pngWithText({ parameters: infotext.replace('red fox', '狐 fox') }));
    expect(unicode.prompt).toContain('狐 fox');
  });

  it.each([
    ['JPEG UTF-16BE little-endian TIFF', () => jpegWithComment(infotext, 'unicode-be', 'II')],
    ['JPEG UTF-16LE big-endian TIFF', () => jpegWithComment(infotext, 'unicode-le', 'MM')],
    ['JPEG ASCII', () => jpegWithComment(infotext, 'ascii')],
    ['WebP UTF-16BE', () => webpWithComment(infotext)],
  ])('%s EXIF UserComment', async (_name, make) => {
    const draft = parseRecipeImage(await make());
    expect(draft.loras.map((l) => l.hash)).toEqual(['0123456789ab', 'ba9876543210']);
    expect(draft.params.seed).toBe(1234567890);
  });

  it('ComfyUI prompt graph: a chain of five LoRAs in application order with both strengths', async () => {
    const loras = [1, 2, 3, 4, 5].map((i) => ({ file: `chain/lora${i}.safetensors`, model: i / 10, clip: i === 3 ? 1 : i / 10 }));
    const png = await pngWithText({ prompt: JSON.stringify(comfyPromptGraph(loras)), workflow: JSON.stringify(comfyWorkflow()) });
    const draft = parseRecipeImage(png);
    expect(draft.source).toBe('comfyui');
    expect(draft.loras.map((l) => [l.name, l.weight, l.clip_weight])).toEqual([
      ['lora1', 0.1, null],
      ['lora2', 0.2, null],
      ['lora3', 0.3, 1],
      ['lora4', 0.4, null],
      ['lora5', 0.5, null],
    ]);
    expect(draft.prompt).toBe('a lighthouse at dusk, volumetric light');
    expect(draft.negative_prompt).toBe('text, watermark');
    expect(draft.params).toMatchObject({ checkpoint: 'sdxl/juggernautXL_v9.safetensors', seed: 8675309, steps: 30, cfg_scale: 5.5, sampler: 'dpmpp_2m', scheduler: 'karras', width: 1024, height: 768, clip_skip: 2 });
  });

  it('ComfyUI workflow only: loaders in node order, bypassed nodes skipped', async () => {
    const draft = parseRecipeImage(await pngWithText({ workflow: JSON.stringify(comfyWorkflow()) }));
    expect(draft.loras.map((l) => [l.name, l.weight, l.clip_weight])).toEqual([['inkWash', 0.8, 0.6]]);
    expect(draft.params).toMatchObject({ checkpoint: 'v1-5-pruned-emaonly.safetensors', steps: 25, seed: 99, width: 512 });
  });

  it('an image without a recipe is a typed no_recipe error saying what was found', async () => {
    const error = (() => {
      try {
        return parseRecipeImage(Buffer.from('GIF89a...'));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RecipeParseError);
    expect((error as RecipeParseError).code).toBe('unsupported_image');
    const png = await plainPng(20, 10);
    expect(() => parseRecipeImage(png)).toThrow(RecipeParseError);
    try {
      parseRecipeImage(await pngWithText({ Software: 'GIMP' }));
    } catch (e) {
      expect((e as RecipeParseError).code).toBe('no_recipe');
      expect((e as RecipeParseError).found.join(' ')).toContain('Software');
    }
  });
});

describe('CivitAI metadata JSON', () => {
  it('merges resources, civitaiResources and hashes; prompt tokens give weights', () => {
    const draft = parseRecipeText(JSON.stringify(civitaiImageItem()));
    expect(draft.source).toBe('civitai');
    expect(draft.prompt).toBe('cinematic photo of a cat astronaut');
    expect(draft.loras).toEqual([
      { name: 'catAstro', weight: 0.9, clip_weight: null, hash: '0a1b2c3d4e5f', civitai_model_id: null, civitai_version_id: null },
      { name: 'filmGrain', weight: 0.5, clip_weight: null, hash: null, civitai_model_id: null, civitai_version_id: 987654 },
    ]);
    expect(draft.params).toMatchObject({ checkpoint: 'realisticVisionV60', model_hash: '15012c538f', width: 768, height: 1024, cfg_scale: 7, clip_skip: 2 });
  });

  it('JSON that is no recipe is a no_recipe error', () => {
    expect(() => parseRecipeText('{"hello": "world"}')).toThrow(/No recipe/);
    expect(() => parseRecipeText('   ')).toThrow(RecipeParseError);
    expect(() => parseRecipeText('just some words')).toThrow(RecipeParseError);
  });
});

describe('hostile images', () => {
  it('a zTXt bomb is skipped, not inflated: the image says it has no recipe', async () => {
    const { deflateSync } = await import('node:zlib');
    const { encodeChunks, readChunks } = await import('../png.ts');
    const png = await plainPng();
    const chunks = readChunks(png);
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x41));
    chunks.splice(1, 0, { type: 'zTXt', data: Buffer.concat([Buffer.from('parameters\0\0', 'latin1'), bomb]) });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(() => parseRecipeImage(encodeChunks(chunks))).toThrow(/No generation recipe/);
  });
});
