import { describe, expect, it } from 'vitest';
import { layersFor, tensorsFor, type Family, type Kind } from '../../scripts/fixtures/lora-layouts.ts';
import { safetensorsBytes, type TensorSpec } from '../../scripts/fixtures/safetensors-writer.ts';
import { inferFromTensors } from './network-inference.ts';
import { parseSafetensors } from './safetensors.ts';

const facts = (tensors: TensorSpec[]) => inferFromTensors(parseSafetensors(safetensorsBytes(tensors, null)).table);

describe('network type, rank and base model from tensor names and shapes', () => {
  const families: Array<[Family, string]> = [
    ['sd1', 'SD 1.5'],
    ['sd2', 'SD 2.1'],
    ['sdxl', 'SDXL 1.0'],
    ['sd3', 'SD 3'],
    ['flux', 'Flux.1 D'],
    ['flux-diffusers', 'Flux.1 D'],
  ];
  for (const [family, baseModel] of families) {
    for (const textEncoder of [false, true]) {
      it(`${family}${textEncoder ? ' with text encoder' : ''} → ${baseModel}`, () => {
        const f = facts(tensorsFor(layersFor(family, { textEncoder, conv: false }), 'LoRA', 1, 'F16', family === 'flux-diffusers'));
        expect(f).toMatchObject({ kind: 'lora', networkType: 'LoRA', rank: 1, baseModel: { baseModel, source: 'tensors' } });
      });
    }
  }

  const kinds: Kind[] = ['LoRA', 'LoCon', 'LoHa', 'LoKr', 'DoRA'];
  for (const kind of kinds) {
    it(`recognises ${kind} and its rank`, () => {
      const f = facts(tensorsFor(layersFor('sd1', { textEncoder: true, conv: kind === 'LoCon' }), kind, 4));
      expect(f.networkType).toBe(kind);
      expect(f.rank).toBe(4);
      expect(f.baseModel?.baseModel).toBe('SD 1.5');
    });
  }

  it('takes the most common rank when blocks differ, and finds the first alpha scalar', () => {
    const t: TensorSpec[] = [
      { name: 'lora_unet_a.lora_down.weight', dtype: 'F16', shape: [8, 320] },
      { name: 'lora_unet_a.lora_up.weight', dtype: 'F16', shape: [320, 8] },
      { name: 'lora_unet_a.alpha', dtype: 'F16', shape: [] },
      { name: 'lora_unet_b.lora_down.weight', dtype: 'F16', shape: [8, 320] },
      { name: 'lora_unet_c.lora_down.weight', dtype: 'F16', shape: [16, 320] },
    ];
    const f = facts(t);
    expect(f.rank).toBe(8);
    expect(f.alphaTensor?.name).toBe('lora_unet_a.alpha');
  });

  it('tells checkpoints and embeddings apart from networks', () => {
    expect(facts([{ name: 'model.diffusion_model.input_blocks.0.0.weight', dtype: 'F16', shape: [320, 4, 3, 3] }]).kind).toBe('checkpoint');
    expect(facts([{ name: 'emb_params', dtype: 'F32', shape: [8, 768] }]).kind).toBe('embedding');
    expect(facts([{ name: 'something.else', dtype: 'F32', shape: [2] }])).toMatchObject({ kind: 'unknown', networkType: null });
    expect(facts([]).kind).toBe('unknown');
  });

  it('reads PEFT, older diffusers and escaped names too', () => {
    expect(facts([{ name: 'unet.down_blocks.0.attentions.0.proj_in.lora.down.weight', dtype: 'F16', shape: [4, 320] }]).networkType).toBe('LoRA');
    expect(facts([{ name: 'transformer.single_transformer_blocks.0.attn.to_q.lora_A.default.weight', dtype: 'F16', shape: [4, 3072] }])).toMatchObject({ networkType: 'LoRA', rank: 4, baseModel: { baseModel: 'Flux.1 D' } });
    // A name JSON-escaped in the header (\u0041 = "A") is handled like any other.
    const bytes = safetensorsBytes([{ name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_kA.lora_down.weight', dtype: 'F16', shape: [2, 1024] }], null);
    const escaped = Buffer.from(bytes.toString('latin1').replace('_kA.lora_down', '_k\\u0041.lora_down'), 'latin1');
    escaped.writeBigUInt64LE(escaped.readBigUInt64LE(0) + 5n, 0);
    expect(inferFromTensors(parseSafetensors(escaped).table)).toMatchObject({ networkType: 'LoRA', rank: 2 });
  });
});
