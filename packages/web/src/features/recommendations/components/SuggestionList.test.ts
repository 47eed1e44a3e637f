import type { RecommendationResponse } from '@lora-manager/contract';
import { mount } from '@vue/test-utils';
import { NMessageProvider } from 'naive-ui';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import SuggestionList from './SuggestionList.vue';

const response = {
  session_id: 'session-1',
  recommendations: [
    { lora_id: 'a', lora_name: 'RetroSprites', explanation: 'shares trigger words: pixel art | same base model (SDXL)' },
    { lora_id: 'b', lora_name: 'EightBitWorld', explanation: 'trained on the same concepts: 16 bit sprite' },
  ],
} as unknown as RecommendationResponse;

/** Records the feedback the list sends. */
function server() {
  const sent: unknown[] = [];
  vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
    const u = new URL(url, 'http://app');
    if (u.pathname === '/api/v1/recommendations/feedback') {
      sent.push(JSON.parse(String(init?.body)));
      return Response.json({ id: 'f', ...JSON.parse(String(init?.body)), implicit_signal: false, created_at: 'now', feedback_reason: null });
    }
    return new Response('null', { status: 404 });
  });
  return sent;
}

function mountList(activate: (id: string) => Promise<void>) {
  const Host = defineComponent(() => () => h(NMessageProvider, null, { default: () => h(SuggestionList, { response, activate }) }));
  return mount(Host);
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('SuggestionList', () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => vi.unstubAllGlobals());

  it('shows each suggestion with why', () => {
    server();
    const list = mountList(async () => undefined);
    expect(list.findAll('[data-testid=suggestion]')).toHaveLength(2);
    expect(list.text()).toContain('shares trigger words: pixel art');
  });

  it('sends thumbs up, thumbs down and dismissal for the session, and hides a dismissed suggestion', async () => {
    const sent = server();
    const list = mountList(async () => undefined);
    await list.findAll('[data-testid=suggestion-up]')[0].trigger('click');
    await list.findAll('[data-testid=suggestion-down]')[1].trigger('click');
    await settle();
    await list.findAll('[data-testid=suggestion-dismiss]')[0].trigger('click');
    await settle();
    expect(sent).toEqual([
      { session_id: 'session-1', recommended_lora_id: 'a', feedback_type: 'positive' },
      { session_id: 'session-1', recommended_lora_id: 'b', feedback_type: 'negative' },
      { session_id: 'session-1', recommended_lora_id: 'a', feedback_type: 'dismissed' },
    ]);
    expect(list.findAll('[data-testid=suggestion]').map((s) => s.text())).toEqual([expect.stringContaining('EightBitWorld')]);
  });

  it('activates in one click and tells the ranking it was used', async () => {
    const sent = server();
    const activated: string[] = [];
    const list = mountList(async (id) => void activated.push(id));
    await list.findAll('[data-testid=suggestion-activate]')[1].trigger('click');
    await settle();
    await settle();
    expect(activated).toEqual(['b']);
    expect(sent).toEqual([{ session_id: 'session-1', recommended_lora_id: 'b', feedback_type: 'activated' }]);
  });
});
