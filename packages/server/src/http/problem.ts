import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../errors.ts';

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
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = CLIENT_ERRORS[error.code] ?? (status === 413 ? 'payload_too_large' : 'bad_request');
      return sendProblem(reply, { status, code, title: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, { status: 500, code: 'internal_error', title: 'Internal Server Error' });
  });
}
