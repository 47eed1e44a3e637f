import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';

/** Deeper than any request of ours; a body nested further is left to its schema. */
const MAX_DEPTH = 64;

class NulCharacterError extends AppError {
  constructor(readonly at: string) {
    super(422, 'validation_failed', 'The request is not valid', `${at}: must not contain the NUL character`);
  }
}

function findNul(value: unknown, at: string, depth: number): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? at : null;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return null;
  if (Buffer.isBuffer(value)) return null;
  for (const [key, child] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${at}/${key.replaceAll('\u0000', '\\0')}`;
    const found = findNul(child, `${at}/${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * No text we store or search may hold NUL: PostgreSQL refuses it (a 500 if it got that far) and it truncates C
 * strings and file names. Refused for every route, in the query, the path and JSON bodies, before validation.
 */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const at = findNul(request.params, 'params', 0) ?? findNul(request.query, 'querystring', 0) ?? findNul(request.body, 'body', 0);
    if (at) throw new NulCharacterError(at);
  });
}
