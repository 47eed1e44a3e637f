import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.ts';

/**
 * Every method and path of the original system's HTTP API (reference/original-system.md §2) has a route here, so
 * the original web client never meets a 404 or 405 on a documented path. Each call may still be refused for its
 * input or answer "not found" for an unknown id; what it must not be is an unknown route.
 */
const ORIGINAL_ROUTES: [string, string][] = [
  ['GET', '/health'],
  ['GET', '/api/health'],
  ['GET', '/frontend/settings'],
  ['GET', '/api/v1/frontend/settings'],
  // §2.2 adapters
  ['GET', '/api/v1/adapters'],
  ['POST', '/api/v1/adapters'],
  ['GET', '/api/v1/adapters/tags'],
  ['GET', '/api/v1/adapters/x'],
  ['PATCH', '/api/v1/adapters/x'],
  ['DELETE', '/api/v1/adapters/x'],
  ['POST', '/api/v1/adapters/bulk'],
  ['POST', '/api/v1/adapters/x/activate?ordinal=1'],
  ['POST', '/api/v1/adapters/x/deactivate'],
  // §2.3 compose, §2.4 deliveries
  ['POST', '/api/v1/compose'],
  ['POST', '/api/v1/deliveries'],
  ['GET', '/api/v1/deliveries/x'],
  // §2.5 generation
  ['GET', '/api/v1/generation/backends'],
  ['POST', '/api/v1/generation/generate'],
  ['POST', '/api/v1/generation/compose-and-generate'],
  ['POST', '/api/v1/generation/queue-generation'],
  ['GET', '/api/v1/generation/progress/x?backend=sdnext'],
  ['GET', '/api/v1/generation/jobs/active?limit=50'],
  ['GET', '/api/v1/generation/jobs/x'],
  ['POST', '/api/v1/generation/jobs/x/cancel'],
  ['GET', '/api/v1/generation/results?limit=20&offset=0'],
  ['GET', '/api/v1/generation/results/x/download'],
  ['DELETE', '/api/v1/generation/results/x'],
  ['DELETE', '/api/v1/generation/results/bulk-delete'],
  ['PUT', '/api/v1/generation/results/x/rating'],
  ['PUT', '/api/v1/generation/results/bulk-favorite'],
  ['POST', '/api/v1/generation/results/export'],
  // §2.6 recommendations
  ['GET', '/api/v1/recommendations/similar/x'],
  ['POST', '/api/v1/recommendations/for-prompt'],
  ['GET', '/api/v1/recommendations/by-trigger?trigger_query=x&limit=10'],
  ['GET', '/api/v1/recommendations/stats'],
  ['POST', '/api/v1/recommendations/embeddings/compute'],
  ['GET', '/api/v1/recommendations/embeddings/x'],
  ['POST', '/api/v1/recommendations/embeddings/x/compute?force_recompute=false'],
  ['POST', '/api/v1/recommendations/feedback'],
  ['POST', '/api/v1/recommendations/preferences'],
  ['POST', '/api/v1/recommendations/index/rebuild?force=false'],
  ['GET', '/api/v1/recommendations/health'],
  // §2.7 analytics
  ['GET', '/api/v1/analytics/summary'],
  ['GET', '/api/v1/analytics/stats'],
  ['GET', '/api/v1/analytics/errors'],
  ['GET', '/api/v1/analytics/timeseries'],
  ['GET', '/api/v1/analytics/insights'],
  // §2.8 dashboard, §2.9 system
  ['GET', '/api/v1/dashboard/stats'],
  ['GET', '/api/v1/dashboard/featured-loras'],
  ['GET', '/api/v1/dashboard/activity-feed'],
  ['GET', '/api/v1/system/status'],
  // §2.10 import / export / backups
  ['POST', '/api/v1/export/estimate'],
  ['POST', '/api/v1/export'],
  ['POST', '/api/v1/import'],
  ['GET', '/api/v1/backups/history'],
  ['POST', '/api/v1/backup/create'],
  ['DELETE', '/api/v1/backups/x'],
];

describe('the original API, path by path', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(async () => t.close());

  it.each(ORIGINAL_ROUTES)('%s %s has a route', async (method, url) => {
    const res = await t.app.inject({ method: method as 'GET', url, payload: method === 'GET' || method === 'DELETE' ? undefined : {} });
    expect(res.statusCode, res.body).not.toBe(405);
    if (res.statusCode === 404) expect(res.json().code, res.body).not.toBe('route_not_found');
  });

  it('tells an unknown route from an unknown id (the check above can fail)', async () => {
    const res = await t.app.inject('/api/v1/recommendations/nothing-here');
    expect(res.json().code).toBe('route_not_found');
  });
});
