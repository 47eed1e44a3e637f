import type { Job } from '@lora-manager/contract';
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import ScanProgress from './ScanProgress.vue';

const job = (over: Partial<Job>): Job =>
  ({ id: 'j', kind: 'library.scan', status: 'running', progress: 0.02, progress_detail: null, ...over }) as Job;

describe('ScanProgress', () => {
  it('shows activity, not a percentage, while the scan is still finding files or waits its turn', () => {
    const finding = mount(ScanProgress, { props: { job: job({ progress_detail: { progress: 0.02, indeterminate: true, message: 'read 40 new or changed files, still looking for more' } }) } });
    expect(finding.attributes('data-indeterminate')).toBe('true');
    expect(finding.text()).toContain('still looking for more');
    expect(finding.text()).not.toContain('%');
    expect(mount(ScanProgress, { props: { job: job({ status: 'pending' }) } }).text()).toContain('waiting to start');
  });

  it('shows the percentage once the number of files is known', () => {
    const reading = mount(ScanProgress, { props: { job: job({ progress: 0.5, progress_detail: { progress: 0.5, indeterminate: false, message: 'read 50 of 100 new or changed files' } }) } });
    expect(reading.attributes('data-indeterminate')).toBe('false');
    expect(reading.find('[role=progressbar]').attributes('aria-valuenow')).toBe('50');
  });
});
