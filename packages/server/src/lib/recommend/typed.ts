/** Growth of the typed arrays the recommendation index keeps its data in (one allocation per structure, not per item). */

type Typed = Int32Array | Float64Array | Uint8Array | Uint16Array;

/**
 * `array`, or a copy of it at least `need` long (1.5 times its length or more, so n appends copy O(n) in all). The
 * new part is filled with `fill` (typed arrays start at 0, which means something in most columns).
 */
export function grown<T extends Typed>(array: T, need: number, fill = 0): T {
  if (need <= array.length) return array;
  const next = new (array.constructor as new (n: number) => T)(Math.max(need, Math.ceil(array.length * 1.5), 16));
  next.set(array);
  if (fill !== 0) next.fill(fill, array.length);
  return next;
}
