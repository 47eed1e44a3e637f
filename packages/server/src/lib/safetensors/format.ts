/** What the safetensors format fixes: limits, dtypes, error codes and the tensor entry. */

/** The reference reader's limit (decimal 100 MB). */
export const MAX_HEADER_SIZE = 100_000_000;

export type SafetensorsErrorCode =
  | 'header_too_small'
  | 'header_too_large'
  | 'invalid_header_length'
  | 'invalid_header'
  | 'invalid_header_json'
  | 'invalid_offset'
  | 'validation_overflow'
  | 'misaligned_slice'
  | 'tensor_invalid_info'
  | 'metadata_incomplete_buffer'
  | 'io_error';

export class SafetensorsError extends Error {
  constructor(
    readonly code: SafetensorsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Offsets into the data buffer (which starts at `dataOffset` in the file), end exclusive. */
  begin: number;
  end: number;
}

/** Bits per element. Unknown dtypes are kept as they are and skip the size check (the list keeps growing). */
export const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

export interface ReadOptions {
  /** Refuse headers longer than this; at most MAX_HEADER_SIZE. */
  maxHeaderSize?: number;
}
