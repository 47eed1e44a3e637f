import type { FastifyRequest } from 'fastify';

/**
 * A preValidation hook for POSTs whose body is optional: none means "all defaults" (a "Scan now" button, the original's
 * clients), so the schema validates `{}` instead of refusing a missing body.
 */
export async function emptyBodyIsDefaults(request: Pick<FastifyRequest, 'body'>): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}
