import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { isDatabaseUnavailable } from '../lib/transient-errors.ts';

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
}

export function sendProblem(reply: FastifyReply, problem: Omit<ProblemBody, 'type'>): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json; charset=utf-8')
    .serializer(JSON.stringify)
    .send({ type: 'about:blank', ...problem });
}

/** Fastify's own errors that are the client's fault, by Fastify code → our stable code. */
const CLIENT_ERRORS: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
};

/** Problem documents for what Fastify's router refuses before any route runs (a bad escape, an over-long parameter). */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendProblem(reply, { status: 414, code: 'uri_too_long', title: 'A path parameter is too long' });
  }
  return sendProblem(reply, { status: 400, code: 'invalid_url', title: 'The URL is not valid', detail: 'It holds an escape sequence that does not decode.' });
}

const CLIENT_ERROR_ANSWERS: Record<string, { status: number; code: string; title: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', title: 'The request line or headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', title: 'The request took too long to arrive' },
};

/**
 * Node's HTTP parser refuses some requests before Fastify sees them (headers or URL over the size limit, a broken
 * request line); they still get a problem document, written straight to the socket.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const answer = CLIENT_ERROR_ANSWERS[error.code ?? ''] ?? { status: 400, code: 'bad_request', title: 'The request could not be parsed' };
  const body = JSON.stringify({ type: 'about:blank', ...answer });
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A refused WebSocket upgrade gets its problem document on the raw socket, which is then closed (or it lingers half-open). */
export function refuseUpgrade(request: FastifyRequest, reply: FastifyReply, error: AppError): void {
  reply.hijack();
  const body = JSON.stringify({ type: 'about:blank', title: error.message, status: error.status, code: error.code, detail: error.detail });
  request.raw.socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** One error handler: AppErrors keep their code, validation failures are 422 with paths, nothing else leaks. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      return sendProblem(reply, { status: error.status, code: error.code, title: error.message, detail: error.detail });
    }
    if (error.validation) {
      const context = error.validationContext ?? 'request';
      const errors = error.validation.map((v) => {
        const params = v.params as Record<string, unknown>;
        const extra = (params.additionalProperty ?? params.missingProperty) as string | undefined;
        const at = `${v.instancePath ?? ''}${extra ? `/${extra}` : ''}`;
        const message = params.additionalProperty ? `unknown field "${extra}"` : (v.message ?? 'is invalid');
        return { path: `${context}${at}`, message };
      });
      return sendProblem(reply, {
        status: 422,
        code: 'validation_failed',
        title: 'The request is not valid',
        detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors,
      });
    }
    // A database restart is not the client's fault nor a bug: say so at once, and when to come back.
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', '5');
      return sendProblem(reply, {
        status: 503,
        code: 'database_unavailable',
        title: 'The database is not available right now',
        detail: 'Nothing was changed. Try again in a few seconds.',
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = CLIENT_ERRORS[error.code] ?? (status === 413 ? 'payload_too_large' : 'bad_request');
      return sendProblem(reply, { status, code, title: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, { status: 500, code: 'internal_error', title: 'Internal Server Error' });
  });
}
