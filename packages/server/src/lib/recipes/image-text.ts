import { isPng, pngSize, readTextChunks } from '../png.ts';

/**
 * The text an image carries about how it was made, by container: PNG text chunks (tEXt / zTXt / iTXt), JPEG EXIF
 * UserComment and COM segments, WebP EXIF. Reads only headers and metadata segments, never decodes pixels, and never
 * throws on damaged input (a damaged segment is skipped).
 */

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface ImageText {
  format: ImageFormat;
  width: number | null;
  height: number | null;
  /** keyword → text: PNG chunk keywords as written; `UserComment`, `ImageDescription`, `Make`, `Model`, `Comment` from EXIF / JPEG. */
  texts: Record<string, string>;
}

const USER_COMMENT = 0x9286;
const EXIF_IFD = 0x8769;
const IFD0_STRINGS: Record<number, string> = { 0x010e: 'ImageDescription', 0x010f: 'Make', 0x0110: 'Model' };
/** Enough for any real metadata; a crafted file cannot make us walk more. */
const MAX_SEGMENTS = 512;

export function imageFormat(bytes: Buffer): ImageFormat | null {
  if (isPng(bytes)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return null;
}

/** Decode an EXIF UserComment: an 8-byte charset prefix, then the text (UTF-16 in either byte order for UNICODE). */
export function decodeUserComment(data: Buffer): string {
  const prefix = data.subarray(0, 8).toString('latin1');
  const body = data.subarray(8);
  if (prefix.startsWith('UNICODE')) {
    let zerosEven = 0;
    let zerosOdd = 0;
    for (let i = 0; i + 1 < Math.min(body.length, 512); i += 2) {
      if (body[i] === 0) zerosEven++;
      if (body[i + 1] === 0) zerosOdd++;
    }
    // ASCII-range text in UTF-16BE has its zero bytes first in each pair.
    const le = zerosOdd > zerosEven;
    const even = body.subarray(0, body.length - (body.length % 2));
    const text = le ? even.toString('utf16le') : Buffer.from(even).swap16().toString('utf16le');
    return text.replace(/\0+$/, '');
  }
  if (prefix.startsWith('ASCII') || prefix === '\0\0\0\0\0\0\0\0') return body.toString('utf8').replace(/\0+$/, '');
  return data.toString('utf8').replace(/\0+$/, '');
}

/** UserComment and IFD0 strings from a TIFF-structured EXIF block (optionally prefixed `Exif\0\0`). */
export function readExif(block: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let tiff = block;
  if (tiff.subarray(0, 6).toString('latin1') === 'Exif\0\0') tiff = tiff.subarray(6);
  if (tiff.length < 8) return out;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return out;
  const le = order === 'II';
  const u16 = (o: number) => (o + 2 <= tiff.length ? (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o)) : -1);
  const u32 = (o: number) => (o + 4 <= tiff.length ? (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o)) : -1);
  const visited = new Set<number>();

  const walk = (ifd: number, exifLevel: boolean) => {
    if (ifd <= 0 || ifd >= tiff.length || visited.has(ifd) || visited.size > 8) return;
    visited.add(ifd);
    const count = u16(ifd);
    if (count < 0 || count > 1000) return;
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      const tag = u16(entry);
      const type = u16(entry + 2);
      const n = u32(entry + 4);
      if (tag < 0 || n < 0) return;
      // Types 2 (ASCII) and 7 (UNDEFINED) are 1 byte per item; values over 4 bytes live at an offset.
      const valueAt = n <= 4 ? entry + 8 : u32(entry + 8);
      if (tag === EXIF_IFD) {
        walk(u32(entry + 8), true);
        continue;
      }
      if ((type !== 2 && type !== 7) || valueAt < 0 || valueAt + n > tiff.length) continue;
      const data = tiff.subarray(valueAt, valueAt + n);
      if (exifLevel && tag === USER_COMMENT) out.UserComment = decodeUserComment(data);
      else if (!exifLevel && IFD0_STRINGS[tag]) out[IFD0_STRINGS[tag]] = data.toString('utf8').replace(/\0+$/, '');
    }
  };
  walk(u32(4), false);
  return out;
}

function jpegTexts(bytes: Buffer): Record<string, string> {
  let out: Record<string, string> = {};
  let offset = 2;
  for (let n = 0; n < MAX_SEGMENTS && offset + 4 <= bytes.length; n++) {
    if (bytes[offset] !== 0xff) break;
    const marker = bytes[offset + 1];
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01 || marker === 0xff) {
      offset += marker === 0xff ? 1 : 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // pixels follow: metadata is over
    const length = bytes.readUInt16BE(offset + 2);
    if (length < 2 || offset + 2 + length > bytes.length) break;
    const data = bytes.subarray(offset + 4, offset + 2 + length);
    if (marker === 0xe1 && data.subarray(0, 6).toString('latin1') === 'Exif\0\0') out = { ...out, ...readExif(data) };
    else if (marker === 0xfe) out.Comment = data.toString('utf8');
    offset += 2 + length;
  }
  return out;
}

function webpTexts(bytes: Buffer): { texts: Record<string, string>; width: number | null; height: number | null } {
  let texts: Record<string, string> = {};
  let width: number | null = null;
  let height: number | null = null;
  let offset = 12;
  for (let n = 0; n < MAX_SEGMENTS && offset + 8 <= bytes.length; n++) {
    const fourcc = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const data = bytes.subarray(offset + 8, Math.min(bytes.length, offset + 8 + size));
    if (fourcc === 'EXIF') texts = { ...texts, ...readExif(data) };
    else if (fourcc === 'VP8X' && data.length >= 10) {
      width = data.readUIntLE(4, 3) + 1;
      height = data.readUIntLE(7, 3) + 1;
    }
    offset += 8 + size + (size % 2);
  }
  return { texts, width, height };
}

/** The text an image carries, or null when the bytes are not a PNG, JPEG or WebP. */
export function readImageText(bytes: Buffer): ImageText | null {
  const format = imageFormat(bytes);
  try {
    if (format === 'png') {
      const { width, height } = pngSize(bytes);
      return { format, width, height, texts: readTextChunks(bytes) };
    }
    if (format === 'jpeg') return { format, width: null, height: null, texts: jpegTexts(bytes) };
    if (format === 'webp') return { format, ...webpTexts(bytes) };
  } catch {
    // A damaged container: it is an image we recognise, but it says nothing.
    return format ? { format, width: null, height: null, texts: {} } : null;
  }
  return null;
}
