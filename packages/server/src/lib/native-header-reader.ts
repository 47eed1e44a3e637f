import { createRequire } from 'node:module';

/**
 * The compiled fast path of the safetensors header reader (packages/server/native/safetensors-header), built by
 * `npm install` when a C compiler is there. Without it every header is read by the JavaScript reader, which accepts
 * and refuses exactly the same files, only slower; LORA_MANAGER_NATIVE_READER=off turns it off (read by config.ts,
 * handed in through configureNativeHeaderReader).
 */
export interface NativeHeaderAddon {
  configure(dtypes: string[], bits: number[]): void;
  read(
    path: string,
    raw: Uint8Array,
    maxHeaderSize: number,
    out: Float64Array,
    begin: Float64Array,
    end: Float64Array,
    elements: Float64Array,
    dims: Float64Array,
    nameStart: Int32Array,
    nameEnd: Int32Array,
    nameHash: Int32Array,
    nameEscaped: Uint8Array,
    dtypeCode: Uint8Array,
    ndim: Uint8Array,
    order: Uint32Array,
  ): number;
  /** Network and base-model counters of a table whose names are all kohya's (see network-inference.ts). */
  kohyaEvidence(
    raw: Uint8Array,
    count: number,
    nameStart: Int32Array,
    nameEnd: Int32Array,
    nameEscaped: Uint8Array,
    ndim: Uint8Array,
    dims: Float64Array,
    out: Float64Array,
  ): number;
}

/** What `read` answers. */
export const NativeStatus = { ok: 0, grow: 1, fallback: 2 } as const;

const ADDON_PATH = '../../native/safetensors-header/build/Release/safetensors_header.node';

let loaded: ReturnType<typeof load> | undefined;
/** Set from Config (LORA_MANAGER_NATIVE_READER) by the container and by each reader thread; lib/ reads no environment. */
let enabled = true;

/** Allow or forbid the addon in this thread; decided again on the next read. */
export function configureNativeHeaderReader(options: { enabled: boolean }): void {
  enabled = options.enabled;
  loaded = undefined;
}

/** The addon, or null with the reason (not built, turned off). Loaded once per thread. */
export function nativeHeaderAddon(): NativeHeaderAddon | null {
  loaded ??= load();
  return loaded.addon;
}

/** Whether the addon is in use; `turnedOff` when LORA_MANAGER_NATIVE_READER says so (not a failed build). */
export function nativeHeaderReaderStatus(): { active: boolean; turnedOff: boolean; reason: string } {
  loaded ??= load();
  return { active: loaded.addon !== null, turnedOff: loaded.turnedOff, reason: loaded.reason };
}

function load(): { addon: NativeHeaderAddon | null; turnedOff: boolean; reason: string } {
  if (!enabled) {
    return { addon: null, turnedOff: true, reason: 'turned off by LORA_MANAGER_NATIVE_READER' };
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeHeaderAddon;
    return { addon, turnedOff: false, reason: 'native header reader loaded' };
  } catch (error) {
    return { addon: null, turnedOff: false, reason: `native header reader not built (${(error as Error).message.split('\n')[0]}); using the JavaScript reader` };
  }
}
