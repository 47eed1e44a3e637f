import { describe, expect, it } from 'vitest';

// Every source file of the web app, as text (Vite resolves the glob at build time).
const sources = import.meta.glob(['../**/*.ts', '../**/*.vue', '!../**/*.test.ts'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

describe('the API base', () => {
  it('is spelled only in the API client module', () => {
    const files = Object.keys(sources);
    expect(files.length).toBeGreaterThan(10);
    expect(files).toContain('./client.ts');
    const offenders = files.filter((file) => file !== './client.ts' && sources[file].includes('/api/v1'));
    expect(offenders).toEqual([]);
  });

  it('is authenticated only by the API client: no other module sets the key header or sends its own requests', () => {
    // The header name as a script string (a placeholder in a template that merely names it is fine).
    const offenders = Object.keys(sources).filter((file) => file !== './client.ts' && /['`]X-API-Key['`]|XMLHttpRequest/.test(sources[file]));
    expect(offenders).toEqual([]);
  });
});
