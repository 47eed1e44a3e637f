import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ImportConfig } from '@lora-manager/contract';
import type { FastifyRequest } from 'fastify';
import { Value } from 'typebox/value';
import { AppError, BadRequestError } from '../../errors.ts';
import { describeErrors } from '../../lib/archive-manifest.ts';
import { uploadPath } from '../services/archive-import.service.ts';

export interface ReceivedUploads {
  files: Array<{ path: string; name: string }>;
  config: ImportConfig;
  /** Delete the temporary files (after the import, or when the request fails). */
  discard(): Promise<void>;
}

const FILE_FIELDS = new Set(['files', 'file', 'archive']);
const MAX_FILES = 20;

/**
 * The original's multipart form: one or more `files` parts and a `config` JSON string. Each file is streamed to
 * DATA_DIR/uploads (yauzl needs a seekable file) and never held in memory; over IMPORT_MAX_UPLOAD_BYTES is a 413.
 */
export async function receiveUploads(request: FastifyRequest, dataDir: string, maxBytes: number): Promise<ReceivedUploads> {
  if (!request.isMultipart()) {
    throw new AppError(415, 'multipart_required', 'Send the archives as multipart/form-data with "files" parts and an optional "config" field');
  }
  const files: Array<{ path: string; name: string }> = [];
  const discard = async () => {
    await Promise.all(files.map((f) => fsp.rm(f.path, { force: true })));
  };
  let configText: string | undefined;
  try {
    await fsp.mkdir(path.join(dataDir, 'uploads'), { recursive: true });
    const parts = request.parts({ limits: { fileSize: maxBytes, files: MAX_FILES, fields: 10, fieldSize: 1024 * 1024, parts: MAX_FILES + 10 } });
    for await (const part of parts) {
      if (part.type === 'field') {
        if (part.fieldname === 'config') configText = String(part.value);
        continue;
      }
      if (!FILE_FIELDS.has(part.fieldname)) {
        part.file.resume();
        continue;
      }
      const target = uploadPath(dataDir);
      files.push({ path: target, name: path.basename(part.filename || 'upload.zip') });
      await pipeline(part.file, fs.createWriteStream(target));
      if (part.file.truncated) throw tooLarge(maxBytes);
    }
  } catch (error) {
    await discard();
    if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
    throw error;
  }
  if (files.length === 0) {
    throw new AppError(422, 'validation_failed', 'At least one archive is required in a "files" part', undefined);
  }
  try {
    return { files, config: parseConfig(configText), discard };
  } catch (error) {
    await discard();
    throw error;
  }
}

function parseConfig(text: string | undefined): ImportConfig {
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError('invalid_import_config', `Invalid config: ${(error as Error).message}`);
  }
  if (!Value.Check(ImportConfig, value)) {
    throw new BadRequestError('invalid_import_config', `Invalid config: ${describeErrors(ImportConfig, value)}`);
  }
  return value;
}

function tooLarge(maxBytes: number): AppError {
  return new AppError(413, 'upload_too_large', `The upload is larger than the ${maxBytes} bytes allowed (IMPORT_MAX_UPLOAD_BYTES)`);
}
