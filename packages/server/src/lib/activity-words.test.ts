import type { Job } from '@lora-manager/contract';
import { describe, expect, it } from 'vitest';
import { activityWords } from './activity-words.ts';

const job = (over: Partial<Job>): Job => ({
  id: 'j',
  kind: 'generation',
  status: 'succeeded',
  progress: 1,
  progress_detail: null,
  payload: { prompt: 'a fox in a misty forest, watercolor, soft light, by the river at dawn', backend: 'sdnext' },
  result: { status: 'completed', images: ['a', 'b', 'c', 'd'] },
  error: null,
  attempts: 1,
  max_attempts: 3,
  queue_group: null,
  created_at: '2026-01-01T00:00:00Z',
  started_at: null,
  finished_at: null,
  updated_at: '2026-01-01T00:00:00Z',
  ...over,
});

describe('activity in plain words', () => {
  it('says how many images a generation made and what it was, shortened', () => {
    expect(activityWords(job({}))).toBe('Generated 4 images: “a fox in a misty forest, watercolor, soft light…”');
    expect(activityWords(job({ result: { images: ['a'] }, payload: { prompt: 'a cat' } }))).toBe('Generated 1 image: “a cat”');
  });

  it('tells cancelled, failed, retrying and running generations apart', () => {
    expect(activityWords(job({ status: 'cancelled', payload: { prompt: 'a cat' } }))).toBe('Cancelled “a cat”');
    expect(activityWords(job({ status: 'failed', error: 'CUDA out of memory\nstack', payload: { prompt: 'a cat' } }))).toBe('Could not generate “a cat”: CUDA out of memory');
    expect(activityWords(job({ status: 'retrying', error: 'SDNext is not reachable', payload: { prompt: 'a cat' } }))).toBe('Retrying “a cat”: SDNext is not reachable');
    expect(activityWords(job({ status: 'running', progress: 0.004, payload: { prompt: 'a cat' } }))).toBe('Generating “a cat” (<1 %)');
  });

  it('names other jobs by what they do, with their counts when done', () => {
    const scan = job({ kind: 'library.scan', payload: {}, result: { added: 12, updated: 0, missing: 1, issues: 3 } });
    expect(activityWords(scan)).toBe('Scanned the library: 12 added, 1 missing, 3 not catalogued');
    expect(activityWords(job({ kind: 'library.scan', payload: {}, result: { added: 0, updated: 0 } }))).toBe('Scanned the library: nothing changed');
    expect(activityWords(job({ kind: 'archive.export', payload: {}, result: { adapter_count: 2000 } }))).toBe('Exported 2,000 LoRAs');
    expect(activityWords(job({ kind: 'backup.create', status: 'running', progress: 0.5, payload: {} }))).toBe('Backing up (50 %)');
    expect(activityWords(job({ kind: 'something.new', status: 'pending', payload: {} }))).toBe('something.new waiting');
  });
});
