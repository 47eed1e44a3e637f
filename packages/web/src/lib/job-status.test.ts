import { JOB_STATUSES } from '@lora-manager/contract';
import { describe, expect, it } from 'vitest';
import { isActive, isFinished, isUnsuccessful } from './job-status.ts';

describe('job status', () => {
  it('splits every status of the contract into finished or active, never both', () => {
    expect(JOB_STATUSES.filter((s) => isFinished(s))).toEqual(['succeeded', 'failed', 'cancelled']);
    expect(JOB_STATUSES.filter((s) => isActive(s))).toEqual(['pending', 'running', 'retrying']);
    for (const status of JOB_STATUSES) expect(isFinished(status)).not.toBe(isActive(status));
  });

  it('counts only failed and cancelled as unsuccessful', () => {
    expect(JOB_STATUSES.filter((s) => isUnsuccessful(s))).toEqual(['failed', 'cancelled']);
  });

  it('knows nothing of a status it was not told about', () => {
    for (const status of ['completed', 'queued', '', null, undefined]) {
      expect(isFinished(status)).toBe(false);
      expect(isActive(status)).toBe(false);
    }
  });
});
