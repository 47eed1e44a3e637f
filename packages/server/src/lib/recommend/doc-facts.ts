import type { DocFacts } from './features.ts';
import { StringTable } from './string-table.ts';
import { grown, shrunk, typed } from './typed.ts';

/** Int columns per slot (ids into `phrases`, `names` or `values`; -1 for null), then counts and offsets. */
const NAME = 0;
const NAME_KEY = 1;
const FAMILY = 2;
const BASE_MODEL = 3;
const NETWORK = 4;
const AUTHOR = 5;
const ARCHETYPE = 6;
const FAVORITE = 7;
const LIST_START = 8;
const TRIGGERS = 9;
const TAGS = 10;
const INTS = 11;
/** Number columns per slot; NaN for null. */
const RANK = 0;
const SIZE_MB = 1;
const RATING = 2;
const NSFW = 3;
const NUMBERS = 4;

/**
 * The facts of every indexed adapter by slot, in columns of typed arrays instead of an object per adapter: trigger
 * and tag phrases interned once (a caption tag like "solo" is on half the catalogue) with each slot's lists in one
 * arena, and the few values of family, base model, network, author and archetype kept as plain strings. A removed
 * slot's lists stay in the arena until `compact`.
 */
export class FactStore {
  /** Trigger and tag phrases, and lower-cased names (what `<lora:name>` is matched on). */
  readonly phrases = new StringTable();
  private readonly names = new StringTable();
  private readonly valueIds = new Map<string, number>();
  private readonly values: string[] = [];
  private ints = typed(Int32Array, 1024 * INTS);
  private numbers = typed(Float64Array, 1024 * NUMBERS);
  private lists = typed(Int32Array, 4096);
  private used = 0;
  /** The longest trigger's length: no longer piece of a prompt can be one. */
  private longestTrigger = 0;

  get byteLength(): number {
    return this.phrases.byteLength + this.names.byteLength + this.ints.byteLength + this.numbers.byteLength + this.lists.byteLength;
  }

  set(slot: number, f: DocFacts): void {
    this.ints = grown(this.ints, (slot + 1) * INTS);
    this.numbers = grown(this.numbers, (slot + 1) * NUMBERS);
    const row = slot * INTS;
    const ints = this.ints;
    ints[row + NAME] = this.names.intern(f.name);
    ints[row + NAME_KEY] = this.phrases.intern(nameKey(f.name));
    ints[row + FAMILY] = this.value(f.family);
    ints[row + BASE_MODEL] = this.value(f.baseModel);
    ints[row + NETWORK] = this.value(f.network);
    ints[row + AUTHOR] = this.value(f.author);
    ints[row + ARCHETYPE] = this.value(f.archetype);
    ints[row + FAVORITE] = f.favorite ? 1 : 0;
    this.lists = grown(this.lists, this.used + f.triggers.length + f.tags.length);
    ints[row + LIST_START] = this.used;
    ints[row + TRIGGERS] = f.triggers.length;
    ints[row + TAGS] = f.tags.length;
    for (const p of [...f.triggers, ...f.tags]) this.lists[this.used++] = this.phrases.intern(p);
    for (const t of f.triggers) this.longestTrigger = Math.max(this.longestTrigger, t.length);
    const nums = slot * NUMBERS;
    this.numbers[nums + RANK] = f.rank ?? NaN;
    this.numbers[nums + SIZE_MB] = f.sizeMb ?? NaN;
    this.numbers[nums + RATING] = f.rating ?? NaN;
    this.numbers[nums + NSFW] = f.nsfw;
  }

  /** The phrase id of the slot's lower-cased name. */
  nameKey(slot: number): number {
    return this.ints[slot * INTS + NAME_KEY];
  }

  /**
   * Phrase ids of every piece of `text` between two spaces: a trigger is in the text with a space either side
   * exactly when its id is among them. Pieces longer than the longest trigger are not looked up.
   */
  triggersIn(text: string): Set<number> {
    const spaces: number[] = [];
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x20) spaces.push(i);
    const out = new Set<number>();
    for (let a = 0; a < spaces.length; a++) {
      for (let b = a + 1; b < spaces.length && spaces[b] - spaces[a] - 1 <= this.longestTrigger; b++) {
        const id = this.phrases.lookup(text.slice(spaces[a] + 1, spaces[b]));
        if (id !== undefined) out.add(id);
      }
    }
    return out;
  }

  /** The slot's triggers whose phrase ids are in `ids`, in its order (decoded through `decoded`). */
  triggersAmong(slot: number, ids: ReadonlySet<number>, decoded: Map<number, string>): string[] {
    const out: string[] = [];
    for (const id of this.triggerIds(slot)) if (ids.has(id)) out.push(decoded.get(id) ?? decoded.set(id, this.phrases.get(id)).get(id)!);
    return out;
  }

  /** The phrase ids of the slot's triggers. */
  triggerIds(slot: number): Int32Array {
    const start = this.ints[slot * INTS + LIST_START];
    return this.lists.subarray(start, start + this.ints[slot * INTS + TRIGGERS]);
  }

  /**
   * The slot's facts; phrases are read from the table when first asked for (most candidates never need them), through
   * `decoded` when given: one query's candidates share many phrases ("solo"), decoded once for all of them.
   */
  view(slot: number, decoded?: Map<number, string>): DocFacts {
    return new FactsView(this, slot, decoded);
  }

  int(slot: number, column: number): number {
    return this.ints[slot * INTS + column];
  }

  number(slot: number, column: number): number | null {
    const n = this.numbers[slot * NUMBERS + column];
    return Number.isNaN(n) ? null : n;
  }

  valueOf(id: number): string | null {
    return id < 0 ? null : this.values[id];
  }

  nameOf(slot: number): string {
    return this.names.get(this.int(slot, NAME));
  }

  phrasesOf(slot: number, tags: boolean, decoded?: Map<number, string>): string[] {
    const row = slot * INTS;
    const start = this.ints[row + LIST_START] + (tags ? this.ints[row + TRIGGERS] : 0);
    const n = this.ints[row + (tags ? TAGS : TRIGGERS)];
    const out: string[] = [];
    for (let i = start; i < start + n; i++) {
      const id = this.lists[i];
      let text = decoded?.get(id);
      if (text === undefined) {
        text = this.phrases.get(id);
        decoded?.set(id, text);
      }
      out.push(text);
    }
    return out;
  }

  /** Renumbers the slots (`order[newSlot]` is the old slot) and packs the lists of those slots only. */
  compact(order: ArrayLike<number>): void {
    const ints = typed(Int32Array, Math.max(order.length, 16) * INTS);
    const numbers = typed(Float64Array, Math.max(order.length, 16) * NUMBERS);
    let total = 0;
    for (let s = 0; s < order.length; s++) total += this.int(order[s], TRIGGERS) + this.int(order[s], TAGS);
    const lists = typed(Int32Array, Math.max(total, 16));
    let at = 0;
    for (let slot = 0; slot < order.length; slot++) {
      const from = order[slot] * INTS;
      ints.set(this.ints.subarray(from, from + INTS), slot * INTS);
      numbers.set(this.numbers.subarray(order[slot] * NUMBERS, (order[slot] + 1) * NUMBERS), slot * NUMBERS);
      const start = this.ints[from + LIST_START];
      const n = this.ints[from + TRIGGERS] + this.ints[from + TAGS];
      lists.set(this.lists.subarray(start, start + n), at);
      ints[slot * INTS + LIST_START] = at;
      at += n;
    }
    [this.ints, this.numbers, this.lists, this.used] = [ints, numbers, lists, at];
    this.phrases.trim();
    this.names.trim();
  }

  /** Hands back the spare room of every array, in place (after a bulk load into slots 0 to `slots` - 1). */
  trim(slots: number): void {
    const n = Math.max(slots, 16);
    [this.ints, this.numbers, this.lists] = [shrunk(this.ints, n * INTS), shrunk(this.numbers, n * NUMBERS), shrunk(this.lists, Math.max(this.used, 16))];
    this.phrases.trim();
    this.names.trim();
  }

  private value(v: string | null): number {
    if (v === null) return -1;
    let id = this.valueIds.get(v);
    if (id === undefined) {
      id = this.values.length;
      this.valueIds.set(v, id);
      this.values.push(v);
    }
    return id;
  }
}

/** How names are matched: a `<lora:name:w>` token in a prompt names an adapter whatever its case. */
export function nameKey(name: string): string {
  return name.trim().toLowerCase();
}

/** One slot's facts, read from the store on access; valid until the store is next compacted. */
class FactsView implements DocFacts {
  private triggerList: string[] | undefined;
  private tagList: string[] | undefined;

  constructor(
    private readonly store: FactStore,
    private readonly slot: number,
    private readonly decoded?: Map<number, string>,
  ) {}

  get name(): string {
    return this.store.nameOf(this.slot);
  }
  get triggers(): string[] {
    return (this.triggerList ??= this.store.phrasesOf(this.slot, false, this.decoded));
  }
  get tags(): string[] {
    return (this.tagList ??= this.store.phrasesOf(this.slot, true, this.decoded));
  }
  get family(): string | null {
    return this.store.valueOf(this.store.int(this.slot, FAMILY));
  }
  get baseModel(): string | null {
    return this.store.valueOf(this.store.int(this.slot, BASE_MODEL));
  }
  get network(): string | null {
    return this.store.valueOf(this.store.int(this.slot, NETWORK));
  }
  get author(): string | null {
    return this.store.valueOf(this.store.int(this.slot, AUTHOR));
  }
  get archetype(): string | null {
    return this.store.valueOf(this.store.int(this.slot, ARCHETYPE));
  }
  get favorite(): boolean {
    return this.store.int(this.slot, FAVORITE) === 1;
  }
  get rank(): number | null {
    return this.store.number(this.slot, RANK);
  }
  get sizeMb(): number | null {
    return this.store.number(this.slot, SIZE_MB);
  }
  get rating(): number | null {
    return this.store.number(this.slot, RATING);
  }
  get nsfw(): number {
    return this.store.number(this.slot, NSFW) ?? 0;
  }
}
