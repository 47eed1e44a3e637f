import type { Adapter } from '@lora-manager/contract';
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import AdapterCard from './AdapterCard.vue';

const adapter = { id: 'a1', name: 'Ink Style', version: 'v2', nsfw_level: 8, favorite: false, active: true, weight: 0.8, rating: 3, base_model: 'SDXL 1.0', missing: false } as Adapter;
const props = { adapter, index: 4, selected: false, focused: false, selecting: false, blurThreshold: 4, previewSrc: '/p.png' };

describe('AdapterCard', () => {
  it('shows what a user scans for: name, base model, rating, active weight', () => {
    const card = mount(AdapterCard, { props });
    expect(card.text()).toContain('Ink Style');
    expect(card.text()).toContain('SDXL 1.0');
    expect(card.find('.rating').text()).toBe('★★★');
    expect(card.text()).toContain('active · 0.8');
  });

  it('blurs a preview at or above the NSFW threshold until revealed, and not below it', async () => {
    const card = mount(AdapterCard, { props });
    expect(card.find('img').classes()).toContain('blurred');
    await card.find('.reveal').trigger('click');
    expect(card.find('img').classes()).not.toContain('blurred');
    const tame = mount(AdapterCard, { props: { ...props, blurThreshold: 16 } });
    expect(tame.find('img').classes()).not.toContain('blurred');
  });

  it('tells the page what was clicked without opening it for the buttons', async () => {
    const card = mount(AdapterCard, { props });
    await card.find('[data-testid=card-activate]').trigger('click');
    await card.find('.icon').trigger('click');
    await card.find('input[type=checkbox]').trigger('click', { shiftKey: true });
    expect(card.emitted('activate')).toHaveLength(1);
    expect(card.emitted('favorite')).toHaveLength(1);
    expect((card.emitted('select')?.[0][0] as MouseEvent).shiftKey).toBe(true);
    expect(card.emitted('pick')).toBeUndefined();
    await card.trigger('click');
    expect(card.emitted('pick')).toHaveLength(1);
  });

  it('is a placeholder while its page loads', () => {
    const card = mount(AdapterCard, { props: { ...props, adapter: undefined } });
    expect(card.attributes('data-testid')).toBe('card-placeholder');
  });
});
