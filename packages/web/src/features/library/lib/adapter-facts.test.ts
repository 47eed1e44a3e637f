import { describe, expect, it } from 'vitest';
import { civitaiUrl, loraToken, trainingTags, triggerWords } from './adapter-facts.ts';

describe('adapter facts', () => {
  it('adds up kohya tag frequencies across datasets, most frequent first', () => {
    const extra = { ss_tag_frequency: JSON.stringify({ '10_ink': { ink: 40, girl: 12 }, '5_misc': { girl: 3, 'red hair': 7 } }) };
    expect(trainingTags({ extra })).toEqual([
      { tag: 'ink', count: 40 },
      { tag: 'girl', count: 15 },
      { tag: 'red hair', count: 7 },
    ]);
  });

  it('reads a flat frequency map and tolerates junk', () => {
    expect(trainingTags({ extra: { tag_frequency: { a: 2, b: 'x' } } })).toEqual([{ tag: 'a', count: 2 }]);
    expect(trainingTags({ extra: { ss_tag_frequency: 'not json' } })).toEqual([]);
    expect(trainingTags({ extra: null })).toEqual([]);
  });

  it('lists trigger words once, whatever their case', () => {
    expect(triggerWords({ triggers: ['inkstyle'], activation_text: 'InkStyle', trained_words: ['lineart', ' '] })).toEqual(['inkstyle', 'lineart']);
  });

  it('links CivitAI and writes the prompt token from the file name', () => {
    expect(civitaiUrl({ civitai_model_id: 12, civitai_version_id: 34 })).toBe('https://civitai.com/models/12?modelVersionId=34');
    expect(civitaiUrl({ civitai_model_id: null, civitai_version_id: null })).toBeNull();
    expect(loraToken({ name: 'Ink', weight: 0.75, file_path: '/loras/style/ink_v2.safetensors' })).toBe('<lora:ink_v2:0.75>');
  });
});
