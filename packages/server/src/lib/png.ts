import { crc32, deflateSync, inflateSync } from 'node:zlib';

/**
 * PNG chunk reading and writing: enough to read and write the text chunks that carry generation parameters
 * (A1111 `parameters`, ComfyUI `prompt`/`workflow`) without touching the pixels.
 */

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngChunk {
  type: string;
  data: Buffer;
}

export class PngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngError';
  }
}

export function isPng(bytes: Buffer): boolean {
  return bytes.length >= PNG_SIGNATURE.length && bytes.subarray(0, 8).equals(PNG_SIGNATURE);
}

/** Split a PNG into its chunks, checking the signature, lengths and CRCs. */
export function readChunks(bytes: Buffer): PngChunk[] {
  if (!isPng(bytes)) throw new PngError('not a PNG file (bad signature)');
  const chunks: PngChunk[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    if (offset + 12 > bytes.length) throw new PngError(`truncated chunk header at byte ${offset}`);
    const length = bytes.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (length > 0x7fffffff || end > bytes.length) throw new PngError(`chunk at byte ${offset} runs past the end of the file`);
    const typeAndData = bytes.subarray(offset + 4, offset + 8 + length);
    const type = typeAndData.subarray(0, 4).toString('latin1');
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngError(`invalid chunk type at byte ${offset}`);
    if (crc32(typeAndData) !== bytes.readUInt32BE(offset + 8 + length)) throw new PngError(`CRC mismatch in ${type} chunk`);
    chunks.push({ type, data: Buffer.from(typeAndData.subarray(4)) });
    offset = end;
    if (type === 'IEND') break;
  }
  if (chunks[0]?.type !== 'IHDR') throw new PngError('first chunk is not IHDR');
  if (chunks.at(-1)?.type !== 'IEND') throw new PngError('missing IEND chunk');
  return chunks;
}

export function encodeChunks(chunks: readonly PngChunk[]): Buffer {
  const parts: Buffer[] = [PNG_SIGNATURE];
  for (const chunk of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(chunk.data.length, 0);
    head.write(chunk.type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), chunk.data])) >>> 0, 0);
    parts.push(head, chunk.data, crc);
  }
  return Buffer.concat(parts);
}

/** Width and height from the IHDR chunk. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  const ihdr = readChunks(bytes)[0];
  return { width: ihdr.data.readUInt32BE(0), height: ihdr.data.readUInt32BE(4) };
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Decode tEXt as UTF-8 when it is valid UTF-8 (some tools write that), else as Latin-1 as the spec says. */
function decodeLatin1OrUtf8(data: Buffer): string {
  const utf8 = data.toString('utf8');
  return utf8.includes('\ufffd') ? data.toString('latin1') : utf8;
}

/** A compressed text chunk may not inflate past this: a few KB of zTXt could otherwise expand to gigabytes. */
export const MAX_TEXT_CHUNK_BYTES = 16 * 1024 * 1024;

/** Every text chunk (tEXt, zTXt, iTXt) as keyword → text. A later chunk with the same keyword wins. */
export function readTextChunks(bytes: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { type, data } of readChunks(bytes)) {
    const nul = data.indexOf(0);
    if (nul <= 0) continue;
    const keyword = data.subarray(0, nul).toString('latin1');
    try {
      if (type === 'tEXt') {
        out[keyword] = decodeLatin1OrUtf8(data.subarray(nul + 1));
      } else if (type === 'zTXt') {
        out[keyword] = inflateSync(data.subarray(nul + 2), { maxOutputLength: MAX_TEXT_CHUNK_BYTES }).toString('latin1');
      } else if (type === 'iTXt') {
        const compressed = data[nul + 1] === 1;
        const langEnd = data.indexOf(0, nul + 3);
        const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
        if (transEnd < 0) continue;
        const body = data.subarray(transEnd + 1);
        out[keyword] = (compressed ? inflateSync(body, { maxOutputLength: MAX_TEXT_CHUNK_BYTES }) : body).toString('utf8');
      }
    } catch {
      // A damaged text chunk must not make the whole image unreadable.
    }
  }
  return out;
}

/**
 * Set one text chunk, replacing any existing chunk with that keyword. Latin-1 text becomes tEXt (what A1111 writes);
 * anything else becomes iTXt with UTF-8, compressed when long. Placed before the first IDAT like Pillow does.
 */
export function withTextChunk(bytes: Buffer, keyword: string, text: string): Buffer {
  if (!/^[\u0020-\u007e\u00a1-\u00ff]{1,79}$/.test(keyword)) throw new PngError(`invalid text keyword "${keyword}"`);
  const chunks = readChunks(bytes).filter((c) => !(isTextChunk(c.type) && c.data.subarray(0, c.data.indexOf(0)).toString('latin1') === keyword));
  const key = Buffer.from(keyword, 'latin1');
  let chunk: PngChunk;
  if (isLatin1(text)) {
    chunk = { type: 'tEXt', data: Buffer.concat([key, Buffer.from([0]), Buffer.from(text, 'latin1')]) };
  } else {
    const utf8 = Buffer.from(text, 'utf8');
    const compress = utf8.length > 1024;
    const body = compress ? deflateSync(utf8) : utf8;
    chunk = { type: 'iTXt', data: Buffer.concat([key, Buffer.from([0, compress ? 1 : 0, 0, 0, 0]), body]) };
  }
  const at = chunks.findIndex((c) => c.type === 'IDAT');
  chunks.splice(at < 0 ? chunks.length - 1 : at, 0, chunk);
  return encodeChunks(chunks);
}

function isTextChunk(type: string): boolean {
  return type === 'tEXt' || type === 'zTXt' || type === 'iTXt';
}
