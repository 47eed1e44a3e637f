import { describe, expect, it } from 'vitest';
import { parseResolution, readTrainingMetadata } from './training-metadata.ts';

describe('kohya / modelspec / ssmd metadata', () => {
  it('maps what sd-scripts writes (str()-ed values, JSON-dumped objects)', () => {
    const info = readTrainingMetadata({
      ss_output_name: 'inkwash',
      ss_network_module: 'lycoris.kohya',
      ss_network_args: JSON.stringify({ algo: 'loha', conv_dim: '8' }),
      ss_network_dim: '16',
      ss_network_alpha: '8.0',
      ss_resolution: '(768, 1024)',
      ss_base_model_version: 'sdxl_base_v1-0',
      ss_sd_model_name: 'Illustrious-XL-v0.1.safetensors',
      ss_tag_frequency: JSON.stringify({ '10_inkwash': { inkwash: 30, ' 1girl': 20, tree: 4 }, '5_extra': { tree: 2 } }),
      ss_dataset_dirs: JSON.stringify({ '10_inkwash': { n_repeats: 10, img_count: 30 } }),
      ss_training_finished_at: '1712000000.5',
      ss_epoch: '10',
      ss_clip_skip: 'None',
      sshs_model_hash: 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
      'modelspec.hash_sha256': '0xAB' + 'cd'.repeat(31),
      'modelspec.title': 'LoRA@1712000000',
      'modelspec.trigger_phrase': 'ink style',
      'modelspec.tags': 'style, ink',
      ssmd_keywords: 'sumi-e',
      ssmd_negative_keywords: 'color',
    });
    expect(info).toMatchObject({
      outputName: 'inkwash',
      title: null,
      networkTypeHint: 'LoHa',
      rank: 16,
      alpha: 8,
      resolution: '768x1024',
      baseModel: { baseModel: 'Illustrious', family: 'sdxl' },
      epochs: 10,
      trainingFinishedAt: '2024-04-01T19:33:20.500Z',
      // The SHA-256 of nothing identifies no file.
      embeddedDataHash: null,
      modelspecHash: 'ab' + 'cd'.repeat(31),
      tags: ['style', 'ink'],
      negativeText: 'color',
    });
    expect(info.tagFrequency).toEqual([
      { tag: 'inkwash', count: 30 },
      { tag: '1girl', count: 20 },
      { tag: 'tree', count: 6 },
    ]);
    expect(info.suggestedTriggers).toEqual(['ink style', 'sumi-e', 'inkwash']);
  });

  it('survives missing, "None" and malformed values field by field', () => {
    const info = readTrainingMetadata({ ss_network_dim: 'None', ss_network_alpha: 'abc', ss_tag_frequency: '{not json', ss_resolution: 'big', ss_network_args: '[1,2]' });
    expect(info).toMatchObject({ rank: null, alpha: null, tagFrequency: [], resolution: null, networkArgs: null, baseModel: null });
    expect(readTrainingMetadata(null).suggestedTriggers).toEqual([]);
  });

  it('reads the base model from modelspec and SD2 from ss_v2', () => {
    expect(readTrainingMetadata({ 'modelspec.architecture': 'stable-diffusion-3-5-large/lora' }).baseModel).toMatchObject({ baseModel: 'SD 3.5 Large', source: 'modelspec' });
    expect(readTrainingMetadata({ 'modelspec.architecture': 'flux-1-schnell/lora' }).baseModel?.baseModel).toBe('Flux.1 S');
    expect(readTrainingMetadata({ ss_v2: 'True' }).baseModel).toMatchObject({ family: 'sd2', source: 'ss_v2' });
    expect(readTrainingMetadata({ ss_base_model_version: 'sd_v2_v' }).baseModel?.baseModel).toBe('SD 2.1 768');
  });

  it('parses resolutions in every spelling', () => {
    expect(parseResolution('(512, 512)')).toBe('512x512');
    expect(parseResolution('[1024, 768]')).toBe('1024x768');
    expect(parseResolution('1024x1024')).toBe('1024x1024');
    expect(parseResolution('768')).toBe('768x768');
    expect(parseResolution('1, 2, 3')).toBeNull();
  });
});
