/**
 * A reader for the safetensors header that never touches tensor data. It applies the reference implementation's
 * checks (huggingface/safetensors `SafeTensors::read_metadata` + `Metadata::validate`) in the same order and
 * survives any byte string: every input ends in a header or a SafetensorsError with a stable code.
 *
 * The header JSON is read by a strict parser made for this grammar instead of JSON.parse: a LoRA header is
 * thousands of small tensor entries, and building them straight from the bytes is several times faster than
 * JSON.parse + a walk (it is what keeps a first scan of 10,000 files inside its budget). It accepts exactly the
 * JSON that JSON.parse accepts for this shape, and additionally refuses duplicate keys.
 */
export { DTYPE_BITS, MAX_HEADER_SIZE, SafetensorsError, type ReadOptions, type SafetensorsErrorCode, type TensorInfo } from './safetensors/format.ts';
export { HeaderReader, parseHeaderBytes, parseSafetensors, readSafetensorsHeader, type SafetensorsHeader } from './safetensors/header-reader.ts';
export { TensorTable } from './safetensors/tensor-table.ts';
