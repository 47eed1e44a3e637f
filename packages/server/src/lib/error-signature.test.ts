import { describe, expect, it } from 'vitest';
import { errorSignature, failureMessage } from './error-signature.ts';

describe('error signatures', () => {
  it('groups failures that differ only in numbers, ids, paths and URLs', () => {
    const a = errorSignature('Request to http://10.0.0.5:7860/sdapi/v1/txt2img timed out after 300000 ms');
    const b = errorSignature('Request to http://gpu-box:7861/sdapi/v1/txt2img timed out after 120000 ms');
    expect(a).toBe(b);
    expect(a).toBe('Request to <url> timed out after <n> ms');
    expect(errorSignature('Job 0b8e7c2a-3f7e-4a51-9b77-2d0f3c1e9a10 lost')).toBe('Job <id> lost');
    expect(errorSignature("ENOENT: no such file '/data/outputs/abc/1.png'")).toBe(errorSignature("ENOENT: no such file '/srv/x/y.png'"));
    expect(errorSignature('CUDA out of memory. Tried to allocate 2.00 GiB')).toBe('CUDA out of memory. Tried to allocate <n> GiB');
  });

  it('keeps different failures apart and never returns an empty type', () => {
    expect(errorSignature('SDNext backend not configured')).not.toBe(errorSignature('ComfyUI backend not configured'));
    expect(errorSignature('   ')).toBe('Unknown error');
    expect(errorSignature('x'.repeat(5000)).length).toBeLessThanOrEqual(200);
  });

  it('reads the message from the error column, then from the result, never the JSON blob', () => {
    expect(failureMessage(null, JSON.stringify({ status: 'failed', error_message: 'boom' }))).toBe('boom');
    expect(failureMessage('explicit', JSON.stringify({ error_message: 'boom' }))).toBe('explicit');
    expect(failureMessage(null, null)).toBe('Unknown error');
  });
});
