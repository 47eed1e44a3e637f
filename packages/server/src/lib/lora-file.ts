import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { BaseModelGuess } from './base-models.ts';
import { inferFromTensors, type FileKind, type NetworkType } from './network-inference.ts';
import { HeaderReader, SafetensorsError, type TensorInfo } from './safetensors.ts';
import { readSidecars, type SidecarFacts, type SidecarRef } from './sidecars.ts';
import { EMBEDDED_IMAGE_KEYS, readTrainingMetadata, type TrainingInfo } from './training-metadata.ts';

/**
 * Everything one scan step learns about one `.safetensors` file and its sidecars, as plain data (it crosses from
 * the parsing worker threads to the scanner). Reads the header and at most one alpha scalar, never the weights.
 */
export interface LoraAnalysis {
  kind: FileKind;
  networkType: NetworkType | null;
  rank: number | null;
  alpha: number | null;
  /** Metadata first, then tensor names and shapes. */
  baseModel: BaseModelGuess | null;
  headerLength: number;
  dataOffset: number;
  tensorCount: number;
  moduleCount: number;
  /** Identifies the header (metadata + layout) cheaply, for recognising a moved file before it is hashed. */
  fingerprint: string;
  /** The TrainingInfo without the (large) tag frequency, which is only in `stored`. */
  training: TrainingInfo;
  /** The sidecar facts without the raw CivitAI record, which is only in `stored`. */
  sidecars: SidecarFacts;
  /**
   * What the catalogue stores as JSON text, serialised here (on the reader thread) so that only strings cross to the
   * main thread: `__metadata__` less embedded images, the training info, the tag frequency, the CivitAI record.
   */
  stored: { metadata: string | null; training: string; tagFrequency: string; sidecars: string; civitai: string | null };
  /** A data URL cover image from the header, returned only when asked for (no preview file exists). */
  embeddedThumbnail: { mime: string; data: string } | null;
}

export interface AnalyseRequest {
  path: string;
  sidecars: readonly SidecarRef[];
  wantEmbeddedThumbnail?: boolean;
}

export type AnalyseResult = { ok: true; analysis: LoraAnalysis } | { ok: false; code: string; reason: string };

/** One per thread: headers are read one after another into the same buffers. */
const reader = new HeaderReader();

export function analyseLoraFile(request: AnalyseRequest): AnalyseResult {
  let header: ReturnType<HeaderReader['read']>;
  try {
    header = reader.read(request.path);
  } catch (error) {
    if (error instanceof SafetensorsError) return { ok: false, code: error.code, reason: error.message };
    return { ok: false, code: 'io_error', reason: (error as Error).message };
  }
  const facts = inferFromTensors(header.table);
  const training = readTrainingMetadata(header.metadata);
  let metadata = header.metadata;
  let embeddedThumbnail: LoraAnalysis['embeddedThumbnail'] = null;
  // Embedded images are kept out of the stored metadata; most files have none, and then nothing is copied.
  if (metadata && EMBEDDED_IMAGE_KEYS.some((k) => Object.hasOwn(metadata!, k))) {
    const images = metadata;
    metadata = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(images)) {
      if ((EMBEDDED_IMAGE_KEYS as readonly string[]).includes(k)) {
        if (request.wantEmbeddedThumbnail && !embeddedThumbnail) embeddedThumbnail = parseDataUrl(v);
        continue;
      }
      metadata[k] = v;
    }
  }
  const alpha = training.alpha ?? (facts.alphaTensor ? readScalar(request.path, header.dataOffset, facts.alphaTensor) : null);
  const { tagFrequency, ...trainingRest } = training;
  const sidecars = readSidecars(request.sidecars);
  const stored = {
    metadata: metadata ? JSON.stringify(metadata) : null,
    training: JSON.stringify(trainingRest),
    tagFrequency: JSON.stringify(tagFrequency),
    sidecars: JSON.stringify({ errors: sidecars.errors, sources: sidecars.sources }),
    civitai: sidecars.civitai.version ? JSON.stringify(sidecars.civitai.version) : null,
  };
  sidecars.civitai.version = undefined;
  const fingerprint = createHash('sha256')
    .update(`${header.headerLength}|${header.table.count}|${header.fileSize}|`)
    .update(stored.metadata ?? '')
    .update(header.table.count > 0 ? `${header.table.name(0)}|${header.table.name(header.table.count - 1)}` : '')
    .digest('hex')
    .slice(0, 32);
  const typeFromMeta = training.networkTypeHint;
  let networkType = facts.networkType;
  // The keys decide the family; metadata names what keys cannot show (DyLoRA, DoRA via dora_wd, LoCon via conv_dim).
  if (networkType === 'LoRA' && typeFromMeta && ['DyLoRA', 'LoCon', 'DoRA'].includes(typeFromMeta)) networkType = typeFromMeta;
  return {
    ok: true,
    analysis: {
      kind: facts.kind,
      networkType,
      rank: training.rank ?? facts.rank,
      alpha: alpha !== null && Number.isFinite(alpha) ? alpha : null,
      baseModel: training.baseModel ?? facts.baseModel,
      headerLength: header.headerLength,
      dataOffset: header.dataOffset,
      tensorCount: header.table.count,
      moduleCount: facts.moduleCount,
      fingerprint,
      training: { ...trainingRest, tagFrequency: [] },
      sidecars,
      stored,
      embeddedThumbnail,
    },
  };
}

/** The value of a scalar tensor (an `.alpha`), read from the data buffer: a few bytes at a known offset. */
function readScalar(file: string, dataOffset: number, t: TensorInfo): number | null {
  const size = t.end - t.begin;
  if (size <= 0 || size > 8) return null;
  const buf = Buffer.alloc(size);
  try {
    const fd = fs.openSync(file, 'r');
    try {
      if (fs.readSync(fd, buf, 0, size, dataOffset + t.begin) !== size) return null;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  switch (t.dtype) {
    case 'F32':
      return buf.readFloatLE(0);
    case 'F64':
      return buf.readDoubleLE(0);
    case 'F16':
      return halfToFloat(buf.readUInt16LE(0));
    case 'BF16':
      return new Float32Array(new Uint32Array([buf.readUInt16LE(0) << 16]).buffer)[0];
    case 'I64':
      return Number(buf.readBigInt64LE(0));
    case 'I32':
      return buf.readInt32LE(0);
    default:
      return null;
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const IMAGE_MIMES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

function parseDataUrl(value: string): { mime: string; data: string } | null {
  // ssmd_cover_images is a JSON list of data URLs (or bare base64); modelspec.thumbnail is one data URL.
  let candidate = value.trim();
  if (candidate.startsWith('[')) {
    try {
      const list: unknown = JSON.parse(candidate);
      candidate = Array.isArray(list) && typeof list[0] === 'string' ? list[0] : '';
    } catch {
      return null;
    }
  }
  const m = /^data:([a-z/+.-]+);base64,([A-Za-z0-9+/=\s]+)$/.exec(candidate);
  if (m && IMAGE_MIMES.has(m[1])) return { mime: m[1], data: m[2] };
  return null;
}
