import type { Adapter } from '@lora-manager/contract';
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import AdapterCard from './AdapterCard.vue';

const adapter = {
  id: 'a1',
  name: 'Ink Style',
  version: 'v2',
  nsfw_level: 8,
  favorite: false,
  active: true,
  weight: 0.8,
  rating: 3,
  base_model: 'SDXL 1.0',
  network_type: 'LoCon',
  missing: false,
  triggers: ['inkwash'],
  trained_words: ['ink style', 'inkwash'],
  activation_text: null,
  tags: ['style', 'ink', 'monochrome'],
  civitai_model_id: 12,
  civitai_version_id: 34,
} as unknown as Adapter;
const props = { adapter, index: 4, selected: false, focused: false, selecting: false, blurThreshold: 4, previewSrc: '/p.png' };

describe('AdapterCard', () => {
  it('shows what a user scans for: name, base model, rating, active weight', () => {
    const card = mount(AdapterCard, { props });
    expect(card.text()).toContain('Ink Style');
    expect(card.text()).toContain('SDXL 1.0');
    expect(card.find('.rating').text()).toBe('★★★');
    expect(card.text()).toContain('active · 0.8');
    expect(card.text()).toContain('LoCon');
    expect(card.find('a[href="https://civitai.com/models/12?modelVersionId=34"]').exists()).toBe(true);
  });

  it('has no control inside a control: the name is a heading with the open button, the rest sit beside it', () => {
    const card = mount(AdapterCard, { props });
    const root = card.find('[data-testid=adapter-card]');
    expect(root.attributes('role')).toBeUndefined();
    expect(root.element.tagName).toBe('ARTICLE');
    expect(card.find('h3 button').text()).toBe('Ink Style');
    expect(card.find('h3 button').attributes('title')).toBe('Ink Style');
    for (const button of card.findAll('button')) expect(button.attributes('aria-label') ?? button.text().trim(), button.html()).not.toBe('');
    for (const control of card.findAll('button, a, input')) expect(control.element.parentElement?.closest('button, a')).toBeNull();
  });

  it('copies a trigger word with one click, and shows more of the card as it grows', async () => {
    const card = mount(AdapterCard, { props });
    const words = card.findAll('[data-testid=card-trigger]');
    expect(words.map((w) => w.text())).toEqual(['inkwash', 'ink style']);
    await words[1].trigger('click');
    expect(card.emitted('copy')).toEqual([['ink style']]);
    expect(card.emitted('pick')).toBeUndefined();
    expect(card.find('.tags').exists()).toBe(false);
    const large = mount(AdapterCard, { props: { ...props, density: 'large' } });
    expect(large.find('.tags').text()).toBe('style · ink · monochrome');
    // Compact cards keep the words for hover.
    expect(mount(AdapterCard, { props: { ...props, density: 'compact' } }).find('.words').classes()).toContain('on-hover');
  });

  it('says why a search matched it, and marks the keyboard cursor apart from the last opened card', () => {
    const card = mount(AdapterCard, { props: { ...props, match: { field: 'trigger', kind: 'exact', value: 'inkwash' } } });
    expect(card.find('[data-testid=card-match]').text()).toBe('trigger word: inkwash');
    const opened = mount(AdapterCard, { props: { ...props, lastOpened: true } }).find('article').classes();
    const cursor = mount(AdapterCard, { props: { ...props, focused: true } }).find('article').classes();
    expect(opened).toContain('last-opened');
    expect(opened).not.toContain('focused');
    expect(cursor).toContain('focused');
    expect(cursor).not.toContain('last-opened');
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
    await card.find('[data-testid=card-open]').trigger('click');
    expect(card.emitted('pick')).toHaveLength(2);
  });

  it('is a placeholder while its page loads', () => {
    const card = mount(AdapterCard, { props: { ...props, adapter: undefined } });
    expect(card.attributes('data-testid')).toBe('card-placeholder');
  });
});
