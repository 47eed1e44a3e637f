import { describe, expect, it } from 'vitest';
import { fixNaiveAccessibility } from './naive-a11y.ts';

/** The markup Naive UI 2.45 renders, trimmed to what the fixer reads. */
function render(html: string): HTMLElement {
  const root = document.createElement('div');
  root.innerHTML = html;
  fixNaiveAccessibility(root);
  return root;
}

describe('accessible names Naive UI leaves out', () => {
  it('makes a card title one heading with a level, inside a header that is no heading', () => {
    const root = render('<div class="n-card"><div class="n-card-header" role="heading"><div class="n-card-header__main" role="heading">Export</div><div class="n-card-header__extra"><button>x</button></div></div></div>');
    expect(root.querySelector('.n-card-header')!.getAttribute('role')).toBe('none');
    expect(root.querySelector('.n-card-header__main')!.getAttribute('aria-level')).toBe('2');
  });

  it('names the +/− buttons and the field of a number input from its form label', () => {
    const root = render(
      '<div class="n-form-item"><label class="n-form-item-label"><span class="n-form-item-label__text">Images per batch</span></label><div class="n-form-item-blank"><div class="n-input-number"><input /><div class="n-input__suffix"><button></button><button></button></div></div></div></div>',
    );
    const [minus, plus] = root.querySelectorAll('button');
    expect(minus.getAttribute('aria-label')).toBe('Decrease Images per batch');
    expect(plus.getAttribute('aria-label')).toBe('Increase Images per batch');
    expect(root.querySelector('input')!.getAttribute('aria-label')).toBe('Images per batch');
  });

  it("names a dynamic-tags add button only when it has no words of its own", () => {
    const root = render(
      '<div class="n-dynamic-tags"><button class="n-button"><span class="n-button__icon"></span></button></div><div class="n-dynamic-tags"><button class="n-button">+ Add tag</button></div>',
    );
    const [icon, worded] = root.querySelectorAll('button');
    expect(icon.getAttribute('aria-label')).toBe('Add an entry');
    expect(worded.hasAttribute('aria-label')).toBe(false);
  });

  it('names switches from the words beside them, sliders and progress bars from their label', () => {
    const root = render(
      '<div class="n-space"><div role="none"><div role="switch" class="n-switch"></div></div><div role="none"> </div><div role="none"><span>Back up first</span></div></div>' +
        '<label><div role="switch" id="s2"></div> Favourites</label>' +
        '<div class="n-form-item"><div class="n-form-item-label">Steps: 20</div><div class="n-slider"><div role="slider"></div></div></div>' +
        '<div role="switch" id="named" aria-label="Mine"></div>',
    );
    expect(root.querySelector('.n-switch')!.getAttribute('aria-label')).toBe('Back up first');
    expect(root.querySelector('#s2')!.getAttribute('aria-label')).toBe('Favourites');
    expect(root.querySelector('[role=slider]')!.getAttribute('aria-label')).toBe('Steps: 20');
    expect(root.querySelector('#named')!.getAttribute('aria-label')).toBe('Mine');
  });

  it('leaves fields that already have a label alone and lets a scrolling table take focus', () => {
    const root = render('<label for="f">Name</label><input id="f" /><div class="n-data-table"><div class="n-scrollbar-container"></div></div>');
    expect(root.querySelector('input')!.hasAttribute('aria-label')).toBe(false);
    expect(root.querySelector('.n-scrollbar-container')!.getAttribute('tabindex')).toBe('0');
  });
});
