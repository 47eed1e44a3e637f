import { RecipeTextBody } from '@lora-manager/contract';
import type { FastifyRequest } from 'fastify';
import { Value } from 'typebox/value';
import { AppError } from '../../errors.ts';
import { describeErrors } from '../../lib/archive-manifest.ts';
import type { RecipeInput } from '../services/recipe.service.ts';

/** Upload bounds: per image, images per request, and all of them together (they are parsed in memory). */
export const RECIPE_UPLOAD_LIMITS = { fileBytes: 32 * 1024 * 1024, files: 50, totalBytes: 256 * 1024 * 1024 } as const;

const FILE_FIELDS = new Set(['files', 'file', 'image', 'images']);

export interface ReceivedRecipeInputs {
  inputs: RecipeInput[];
  name?: string;
  tags?: string[];
}

function tooLarge(detail: string): AppError {
  return new AppError(413, 'upload_too_large', 'The upload is too large', detail);
}

/**
 * `parse` and `import` bodies: multipart with image parts (`files`) and optional `text`, `name`, `tags` fields, or JSON
 * `{text, name?, tags?}` for a pasted parameters block or metadata JSON.
 */
export async function receiveRecipeInputs(request: FastifyRequest): Promise<ReceivedRecipeInputs> {
  if (!request.isMultipart()) {
    const body = request.body ?? {};
    if (!Value.Check(RecipeTextBody, body)) {
      throw new AppError(422, 'validation_failed', 'Send images as multipart/form-data "files" parts, or JSON {"text": "…"}', describeErrors(RecipeTextBody, body));
    }
    return { inputs: [{ label: 'text', text: body.text }], name: body.name, tags: body.tags };
  }
  const inputs: RecipeInput[] = [];
  let name: string | undefined;
  let tags: string[] | undefined;
  let total = 0;
  try {
    const parts = request.parts({ limits: { fileSize: RECIPE_UPLOAD_LIMITS.fileBytes, files: RECIPE_UPLOAD_LIMITS.files, fields: 10, fieldSize: 2 * 1024 * 1024 } });
    for await (const part of parts) {
      if (part.type === 'field') {
        const value = String(part.value);
        if (part.fieldname === 'text' && value.trim()) inputs.push({ label: 'text', text: value });
        else if (part.fieldname === 'name' && value.trim()) name = value.trim().slice(0, 200);
        else if (part.fieldname === 'tags') tags = parseTags(value);
        continue;
      }
      if (!FILE_FIELDS.has(part.fieldname)) {
        part.file.resume();
        continue;
      }
      const bytes = await part.toBuffer();
      total += bytes.length;
      if (total > RECIPE_UPLOAD_LIMITS.totalBytes) throw tooLarge(`at most ${RECIPE_UPLOAD_LIMITS.totalBytes} bytes of images per request`);
      inputs.push({ label: (part.filename || `image ${inputs.length + 1}`).slice(0, 255), bytes });
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(`each image is limited to ${RECIPE_UPLOAD_LIMITS.fileBytes} bytes`);
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') throw tooLarge(`at most ${RECIPE_UPLOAD_LIMITS.files} images and 10 fields per request`);
    throw error;
  }
  if (inputs.length === 0) throw new AppError(422, 'validation_failed', 'Send at least one image in a "files" part or a "text" field');
  return { inputs, name, tags };
}

/** `a, b` or a JSON array. */
function parseTags(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed.filter((t): t is string => typeof t === 'string').map((t) => t.slice(0, 100)).slice(0, 50);
    } catch {
      // fall through to the comma list
    }
  }
  return trimmed.split(',').map((t) => t.trim().slice(0, 100)).filter(Boolean).slice(0, 50);
}
