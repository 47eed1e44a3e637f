import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import { h, nextTick } from 'vue';
import VirtualGrid from './VirtualGrid.vue';

describe('VirtualGrid', () => {
  it('renders only the rows on screen plus overscan, whatever the item count', async () => {
    const saved = ['clientWidth', 'clientHeight'].map((k) => [k, Object.getOwnPropertyDescriptor(HTMLElement.prototype, k)] as const);
    // happy-dom does no layout: give every element the viewport's size before the grid measures itself on mount.
    Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1000 });
    Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 500 });
    const grid = mount(VirtualGrid, {
      props: { count: 10_000, minColumnWidth: 200, gap: 0, rowHeight: () => 100, overscan: 1 },
      slots: { default: ({ index }: { index: number }) => h('div', { class: 'cell' }, String(index)) },
    });
    await nextTick();
    // 5 columns × (5 visible rows + 1 overscan row below) = 30 cells, not 10,000.
    expect(grid.findAll('.cell')).toHaveLength(30);
    expect(grid.emitted('range')?.at(-1)).toEqual([0, 30]);

    // Jump to the middle: the cells there are rendered, the first ones are gone.
    (grid.element as HTMLElement).scrollTop = 100_000;
    await grid.trigger('scroll');
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    await nextTick();
    const shown = grid.findAll('.cell').map((c) => Number(c.text()));
    expect(shown).toContain(5000);
    expect(shown).not.toContain(0);
    expect(shown.length).toBeLessThanOrEqual(40);
    for (const [key, descriptor] of saved) {
      if (descriptor) Object.defineProperty(HTMLElement.prototype, key, descriptor);
      else delete (HTMLElement.prototype as unknown as Record<string, unknown>)[key];
    }
  });
});
