/**
 * Accessible names and roles that Naive UI 2.45 leaves out and offers no prop for: card headers are two nested
 * `role="heading"` elements without a level, the +/− buttons of number inputs and slider handles have no name, and
 * inputs inside an NFormItem are not tied to its label. Templates name what they can themselves (switches, progress
 * bars, icon buttons); this fills in the rest, from the label the user sees, whenever the DOM changes.
 */

const FIELD = 'input:not([type="hidden"]):not([aria-label]):not([aria-labelledby]), textarea:not([aria-label]):not([aria-labelledby])';

function text(element: Element | null | undefined): string {
  return (element?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

/** The visible label of the form item around an element, without the "required" asterisk. */
function formItemLabel(element: Element): string {
  const item = element.closest('.n-form-item');
  if (!item) return '';
  return text(item.querySelector('.n-form-item-label__text') ?? item.querySelector('.n-form-item-label')).replace(/\s*\*$/, '');
}

/** A name for a control that has none: its form item's label, the <label> around it, or the text beside it. */
function nearbyName(element: Element): string {
  const fromItem = formItemLabel(element);
  if (fromItem) return fromItem;
  const label = element.closest('label');
  if (label) return text(label);
  // NSpace wraps each child (whitespace included) in its own div: the words beside a control sit in a later wrapper.
  const holder = element.parentElement?.getAttribute('role') === 'none' ? element.parentElement : element;
  for (let sibling = holder?.nextElementSibling, i = 0; sibling && i < 3; sibling = sibling.nextElementSibling, i++) {
    if (text(sibling)) return text(sibling);
  }
  return text(holder?.previousElementSibling);
}

function name(element: Element, value: string): void {
  if (value) element.setAttribute('aria-label', value.slice(0, 120));
}

/** One pass over `root`: cheap (a few selector queries), so it runs after every batch of DOM changes. */
export function fixNaiveAccessibility(root: ParentNode): void {
  for (const header of root.querySelectorAll('.n-card-header[role="heading"]')) {
    // The outer element also holds the header's buttons: it is no heading; the title inside is, below the page's h1.
    header.setAttribute('role', 'none');
    header.querySelector('.n-card-header__main[role="heading"]')?.setAttribute('aria-level', '2');
  }
  for (const wrapper of root.querySelectorAll('.n-input-number')) {
    const field = formItemLabel(wrapper) || wrapper.getAttribute('aria-label') || 'value';
    const buttons = wrapper.querySelectorAll('.n-input__suffix > button:not([aria-label])');
    if (buttons.length === 2) {
      name(buttons[0], `Decrease ${field}`);
      name(buttons[1], `Increase ${field}`);
    }
  }
  for (const add of root.querySelectorAll('.n-dynamic-tags .n-button:not([aria-label])')) {
    // A trigger button with its own words ("+ Add tag") is named by them; a second name would contradict them.
    if (add.textContent?.trim()) continue;
    name(add, `Add ${formItemLabel(add) || 'an entry'}`.trim());
  }
  // A table wider or taller than its box scrolls: keyboard users reach it with Tab and scroll it with the arrows.
  for (const region of root.querySelectorAll('.n-data-table .n-scrollbar-container:not([tabindex])')) region.setAttribute('tabindex', '0');
  for (const handle of root.querySelectorAll('[role="slider"]:not([aria-label]):not([aria-labelledby])')) {
    name(handle, handle.closest('.n-slider')?.getAttribute('aria-label') || nearbyName(handle));
  }
  for (const control of root.querySelectorAll('[role="switch"]:not([aria-label]):not([aria-labelledby]), [role="progressbar"]:not([aria-label]):not([aria-labelledby])')) {
    name(control, nearbyName(control));
  }
  for (const field of root.querySelectorAll(FIELD)) {
    if ((field as HTMLInputElement).labels?.length) continue;
    const holder = field.closest('[aria-label]');
    name(field, formItemLabel(field) || holder?.getAttribute('aria-label') || field.getAttribute('placeholder') || '');
  }
}

/** Keep fixing what Vue and Naive render, batched to one pass per frame. */
export function installNaiveAccessibility(root: HTMLElement): () => void {
  let scheduled = false;
  const run = () => {
    scheduled = false;
    fixNaiveAccessibility(root);
  };
  const observer = new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(run);
  });
  observer.observe(root, { childList: true, subtree: true });
  run();
  return () => observer.disconnect();
}
