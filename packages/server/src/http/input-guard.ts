import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';

/** Deeper than any request of ours needs; anything nested further is refused before code that recurses sees it. */
const MAX_DEPTH = 64;

class NulCharacterError extends AppError {
  constructor(readonly at: string) {
    super(422, 'validation_failed', 'The request is not valid', `${at}: must not contain the NUL character`);
  }
}

class TooDeepError extends AppError {
  constructor(readonly at: string) {
    super(422, 'validation_failed', 'The request is not valid', `${at}: nested more than ${MAX_DEPTH} levels deep`);
  }
}

function findNul(value: unknown, at: string, depth: number): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? at : null;
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_DEPTH) throw new TooDeepError(at.slice(0, 200));
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
 * strings and file names. And nothing may nest deeper than MAX_DEPTH: code that walks a value recursively (storing
 * `extra`, serialising) would run out of stack. Both refused for every route, in the query, the path and JSON
 * bodies, before validation.
 */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const at = findNul(request.params, 'params', 0) ?? findNul(request.query, 'querystring', 0) ?? findNul(request.body, 'body', 0);
    if (at) throw new NulCharacterError(at);
  });
}
