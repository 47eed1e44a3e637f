import { beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../../../scripts/fixtures/library-generator.ts';
import {
  a1111Infotext,
  civitaiImageItem,
  comfyPromptGraph,
  comfyWorkflow,
  jpegWithComment,
  pngWithText,
  sdnextInfotext,
  webpWithComment,
} from '../../../test/support/recipe-images.ts';
import { parseRecipeImage, parseRecipeText } from './parse-recipe.ts';
import { DRAFT_LIMITS, RecipeParseError, type RecipeDraft } from './recipe-draft.ts';

/**
 * The parsers read untrusted uploads: whatever the bytes, they return a bounded draft or throw RecipeParseError.
 * Inputs: the corpus with random byte flips, truncations, splices and repeated spans; random text and JSON shapes.
 */

function outcome(run: () => RecipeDraft): 'draft' | 'typed' {
  try {
    const draft = run();
    expect(draft.loras.length).toBeLessThanOrEqual(DRAFT_LIMITS.maxLoras);
    expect(draft.prompt.length).toBeLessThanOrEqual(DRAFT_LIMITS.maxText);
    for (const l of draft.loras) expect(Number.isFinite(l.weight)).toBe(true);
    return 'draft';
  } catch (error) {
    if (error instanceof RecipeParseError) return 'typed';
    throw error;
  }
}

function mutate(base: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(base);
  const kind = Math.floor(random() * 4);
  if (kind === 0) {
    for (let i = 0; i < 1 + random() * 8; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    return bytes;
  }
  if (kind === 1) return bytes.subarray(0, Math.floor(random() * bytes.length));
  if (kind === 2) {
    const at = Math.floor(random() * bytes.length);
    return Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256))), bytes.subarray(at)]);
  }
  const start = Math.floor(random() * bytes.length);
  const span = bytes.subarray(start, start + Math.floor(random() * 32));
  return Buffer.concat([bytes.subarray(0, start), span, span, span, bytes.subarray(start)]);
}

describe('recipe parser fuzzing', () => {
  let images: Buffer[] = [];
  let texts: string[] = [];

  beforeAll(async () => {
    const infotext = a1111Infotext([{ name: 'a', weight: 0.5, hash: '0123456789ab' }]);
    const graph = JSON.stringify(comfyPromptGraph([1, 2, 3].map((i) => ({ file: `l${i}.safetensors`, model: 1, clip: 1 }))));
    texts = [infotext, sdnextInfotext([{ name: 'k', weight: 1, hash8: 'deadbeef' }]), graph, JSON.stringify(comfyWorkflow()), JSON.stringify(civitaiImageItem())];
    images = [
      await pngWithText({ parameters: infotext }),
      await pngWithText({ prompt: graph }),
      await jpegWithComment(infotext, 'unicode-be', 'MM'),
      await jpegWithComment(infotext, 'ascii'),
      await webpWithComment(infotext),
    ];
  });

  it('mutated images give a draft or a typed error, never anything else', () => {
    const random = rng(16);
    const seen = { draft: 0, typed: 0 };
    for (let i = 0; i < 3000; i++) seen[outcome(() => parseRecipeImage(mutate(images[i % images.length], random)))]++;
    // Both outcomes happen: the mutations reach the parsers, not just the container checks.
    expect(seen.draft).toBeGreaterThan(100);
    expect(seen.typed).toBeGreaterThan(100);
  });

  it('mutated texts and odd JSON shapes give a draft or a typed error', () => {
    const random = rng(61);
    const shapes: unknown[] = [null, 1, 'x', [], [[1, 2]], { meta: null }, { resources: 'x' }, { resources: [null, 1, { type: 'lora' }] }, { nodes: [null, 1, { type: 'LoraLoader', widgets_values: null }] },
      { 1: { class_type: 'KSampler', inputs: { model: ['1', 0], positive: ['1', 0], latent_image: ['2', 0] } }, 2: { class_type: 'LoraLoader', inputs: { model: ['1', 0], lora_name: {} } } },
      { 1: { class_type: 'Power Lora Loader (rgthree)', inputs: { lora_1: { on: true, lora: 5, strength: 'x' } } } }, { hashes: { 'lora:': 'zz' }, prompt: 7 }, { format: 'lora-manager-recipe', recipe: { loras: [null, { name: 5 }, { name: 'x', weight: 'y' }], params: 3 } }];
    for (const shape of shapes) outcome(() => parseRecipeText(JSON.stringify(shape)));
    for (let i = 0; i < 3000; i++) {
      const text = mutate(Buffer.from(texts[i % texts.length]), random).toString('utf8');
      outcome(() => parseRecipeText(text));
    }
  });
});
