/**
 * The typed arrays the recommendation index keeps its data in: each over a resizable ArrayBuffer, viewed with a
 * length that follows the buffer. Growing one resizes it in place (no copy, no old buffer left for the collector)
 * and shrinking gives the memory back at once. They matter because the index grows by appends while it loads:
 * grown by copying, every step left a buffer behind, and the allocator kept the freed room in the process (about
 * 60 MB of RSS at 100,000 adapters). The room is reserved as address space, not memory: only what is used counts.
 */

type Typed = Int32Array | Float64Array | Uint8Array | Uint16Array;
type TypedConstructor<T extends Typed> = { new (buffer: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };

/** ES2024 resizable buffers (Node 20 and later); the project's TypeScript library is ES2022. */
interface Resizable {
  readonly resizable: boolean;
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}
type ArrayBufferWithOptions = new (byteLength: number, options: { maxByteLength: number }) => ArrayBuffer;

/** Address space reserved per array, at least: four times its size. One that outgrows it moves to a new buffer. */
const RESERVED = 16 * 1024 * 1024;
/** Growth in steps of this many bytes at least, so appends resize rarely. */
const STEP = 64 * 1024;

/** A zeroed array of `length` (filled with `fill`) that can grow and shrink in place. */
export function typed<T extends Typed>(type: TypedConstructor<T>, length: number, fill = 0): T {
  const bytes = length * type.BYTES_PER_ELEMENT;
  const buffer = new (ArrayBuffer as unknown as ArrayBufferWithOptions)(bytes, { maxByteLength: Math.max(RESERVED, bytes * 4) });
  const array = new type(buffer);
  if (fill !== 0) array.fill(fill);
  return array;
}

/** `array` at least `need` long: resized in place (or moved when past its reserved room); the new part is `fill`. */
export function grown<T extends Typed>(array: T, need: number, fill = 0): T {
  if (need <= array.length) return array;
  const size = array.BYTES_PER_ELEMENT;
  const old = array.length;
  const bytes = Math.max(need * size, Math.ceil((old * size * 1.25) / STEP) * STEP, STEP);
  const buffer = array.buffer as unknown as Resizable;
  let out = array;
  if (buffer.resizable && bytes <= buffer.maxByteLength) buffer.resize(bytes);
  else {
    out = typed(array.constructor as unknown as TypedConstructor<T>, bytes / size);
    out.set(array);
  }
  if (fill !== 0) out.fill(fill, old);
  return out;
}

/** `array` cut to `length`, the rest of its memory handed back (after a bulk load, or a compaction). */
export function shrunk<T extends Typed>(array: T, length: number): T {
  const buffer = array.buffer as unknown as Resizable;
  if (length >= array.length) return array;
  if (buffer.resizable) {
    buffer.resize(length * array.BYTES_PER_ELEMENT);
    return array;
  }
  const out = typed(array.constructor as unknown as TypedConstructor<T>, length);
  out.set(array.subarray(0, length));
  return out;
}
