import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, createApiClient, errorMessage, resolveAssetUrl, resolveUrl, resolveWsUrl } from './client.ts';

describe('resolveUrl', () => {
  it('joins the configured base and the path, dropping empty query values', () => {
    expect(resolveUrl({ baseUrl: '/api/v1/', apiKey: null }, '/adapters', { search: 'x y', page: 2, tags: '' })).toBe(
      '/api/v1/adapters?search=x+y&page=2',
    );
  });

  it('targets another origin when the base is absolute', () => {
    expect(resolveUrl({ baseUrl: 'http://gpu-box:8000/api/v1', apiKey: 'k' }, 'health')).toBe('http://gpu-box:8000/api/v1/health');
  });

  it('puts the key in the query only for URLs the browser fetches itself from another origin', () => {
    const target = { baseUrl: 'http://gpu-box:8000/api/v1', apiKey: 'secret-key' };
    expect(resolveAssetUrl(target, 'adapters/a/preview', { v: '1' }, 'http://lm.example')).toBe('http://gpu-box:8000/api/v1/adapters/a/preview?v=1&api_key=secret-key');
    expect(resolveAssetUrl({ ...target, apiKey: null }, 'x', undefined, 'http://lm.example')).toBe('http://gpu-box:8000/api/v1/x');
  });

  it("keeps the key out of every URL on the page's own origin, where the session cookie authenticates", () => {
    const relative = { baseUrl: '/api/v1', apiKey: 'secret-key' };
    expect(resolveAssetUrl(relative, 'adapters/a/preview', { v: '1' }, 'http://lm.example')).toBe('/api/v1/adapters/a/preview?v=1');
    expect(resolveAssetUrl({ baseUrl: 'http://lm.example/api/v1', apiKey: 'secret-key' }, 'x', undefined, 'http://lm.example')).toBe('http://lm.example/api/v1/x');
    expect(resolveWsUrl(relative, 'ws/progress', 'https://lm.example')).toBe('wss://lm.example/api/v1/ws/progress');
  });

  it('makes WebSocket URLs from relative and absolute bases', () => {
    expect(resolveWsUrl({ baseUrl: '/api/v1', apiKey: null }, 'ws/progress', 'https://lm.example')).toBe('wss://lm.example/api/v1/ws/progress');
    expect(resolveWsUrl({ baseUrl: 'http://gpu-box:8000/x', apiKey: 'k2345678' }, 'ws/progress', 'https://lm.example')).toBe(
      'ws://gpu-box:8000/x/ws/progress?api_key=k2345678',
    );
  });
});

describe('createApiClient', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends the key as X-API-Key and resolves against the base read at call time', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ ok: true }), { status: 200, headers: { 'content-type': 'application/json' } });
    });
    const target = { baseUrl: '/api/v1', apiKey: null as string | null };
    const api = createApiClient(() => target);
    await api.get('adapters', { page: 1 });
    target.baseUrl = 'http://other:9000/api/v1';
    target.apiKey = 'abcdefgh';
    await api.patch('adapters/x', { rating: 3 });
    expect(calls[0].url).toBe('/api/v1/adapters?page=1');
    expect((calls[0].init.headers as Record<string, string>)['X-API-Key']).toBeUndefined();
    expect(calls[1].url).toBe('http://other:9000/api/v1/adapters/x');
    expect((calls[1].init.headers as Record<string, string>)['X-API-Key']).toBe('abcdefgh');
    expect(calls[1].init.body).toBe('{"rating":3}');
  });

  it('turns a problem document into an ApiError with its code and field errors', async () => {
    vi.stubGlobal(
      'fetch',
      async () =>
        new Response(JSON.stringify({ type: 'about:blank', title: 'Validation failed', status: 422, code: 'validation_failed', errors: [{ path: '/rating', message: 'must be <= 5' }] }), {
          status: 422,
        }),
    );
    const api = createApiClient(() => ({ baseUrl: '/api/v1', apiKey: null }));
    const error = await api.patch('adapters/x', { rating: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('validation_failed');
    expect(errorMessage(error)).toBe('Validation failed (/rating: must be <= 5)');
  });

  it('says the server cannot be reached instead of a bare TypeError', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    const api = createApiClient(() => ({ baseUrl: 'http://nowhere:1/api/v1', apiKey: null }));
    await expect(api.get('health')).rejects.toMatchObject({ code: 'network_error' });
  });

  it('uploads a form with the key header, reports progress and turns a problem into an ApiError', async () => {
    const sent: Array<{ url: string; headers: Record<string, string>; body: unknown }> = [];
    let answer = { status: 200, text: '{"ok":true}' };
    class FakeXhr {
      upload: { onprogress?: (e: { lengthComputable: boolean; loaded: number; total: number }) => void } = {};
      onload?: () => void;
      onerror?: () => void;
      status = 0;
      statusText = '';
      responseText = '';
      private request = { url: '', headers: {} as Record<string, string>, body: null as unknown };
      open(_method: string, url: string) {
        this.request.url = url;
      }
      setRequestHeader(name: string, value: string) {
        this.request.headers[name] = value;
      }
      send(body: unknown) {
        sent.push({ ...this.request, body });
        this.upload.onprogress?.({ lengthComputable: true, loaded: 5, total: 10 });
        this.status = answer.status;
        this.responseText = answer.text;
        this.onload?.();
      }
    }
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const api = createApiClient(() => ({ baseUrl: 'http://other:9000/api/v1', apiKey: 'abcdefgh' }));
    const form = new FormData();
    const progress: number[] = [];
    await expect(api.upload('import/jobs', form, (f) => progress.push(f))).resolves.toEqual({ ok: true });
    expect(sent[0]).toEqual({ url: 'http://other:9000/api/v1/import/jobs', headers: { 'X-API-Key': 'abcdefgh' }, body: form });
    expect(progress).toEqual([0.5]);
    answer = { status: 413, text: JSON.stringify({ title: 'Too large', status: 413, code: 'payload_too_large' }) };
    await expect(api.upload('import/jobs', form)).rejects.toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('waits for the bootstrap before the first request', async () => {
    const urls: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      urls.push(url);
      return new Response('{}', { status: 200 });
    });
    const target = { baseUrl: '/api/v1', apiKey: null };
    let release!: () => void;
    const ready = new Promise<void>((r) => (release = r));
    const api = createApiClient(() => target, () => ready);
    const pending = api.get('adapters');
    await Promise.resolve();
    expect(urls).toEqual([]);
    target.baseUrl = '/custom/api';
    release();
    await pending;
    expect(urls).toEqual(['/custom/api/adapters']);
  });
});

describe('resolveServerUrl', () => {
  it('keeps same-origin paths, moves them to the API origin when it is elsewhere, and adds the key', async () => {
    const { resolveServerUrl } = await import('./client.ts');
    expect(resolveServerUrl({ baseUrl: '/api/v1', apiKey: null }, '/api/v1/generation/results/r1/images/0')).toBe('/api/v1/generation/results/r1/images/0');
    expect(resolveServerUrl({ baseUrl: '/api/v1', apiKey: 'k1234567' }, '/x/preview?v=2')).toBe('/x/preview?v=2');
    expect(resolveServerUrl({ baseUrl: 'http://gpu:8000/api/v1', apiKey: 'k1234567' }, '/x/preview?v=2', 'http://lm.example')).toBe('http://gpu:8000/x/preview?v=2&api_key=k1234567');
    expect(resolveServerUrl({ baseUrl: 'http://gpu:8000/api/v1', apiKey: null }, '/api/v1/a.png')).toBe('http://gpu:8000/api/v1/a.png');
    expect(resolveServerUrl({ baseUrl: '/api/v1', apiKey: 'k' }, 'data:image/png;base64,AAA')).toBe('data:image/png;base64,AAA');
  });
});
