/**
 * The one error handler, and the not-found handler. Every error answer has one shape:
 * `{code, message, details?, requestId}` with a stable `DISTCI_…` code (`docs/errors.md`).
 *
 * - A `DistciError` (anything carrying a distci code) below 500 → its status, code, message, details.
 * - A schema validation failure → 400 `DISTCI_BAD_REQUEST`, naming the part (`params`, `querystring`,
 *   `headers`, `body`) and each problem's instance and schema path.
 * - fastify's own client errors (bad JSON 400, body too large 413, media type 415, rate limit 429) →
 *   the matching `DISTCI_…` code.
 * - Anything else, and every 5xx → the code only (`DISTCI_INTERNAL`, or e.g. `DISTCI_CONNECTION_LOSS`
 *   with its generic summary), the request id to quote, and no internals: the message, stack and
 *   cause go to the log only.
 */
import { ERROR_CODES, type ErrorCode, isDistciError } from '@distci/common';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  requestId: string;
}

const BY_STATUS: Record<number, ErrorCode> = {
  401: 'DISTCI_UNAUTHORIZED',
  404: 'DISTCI_NOT_FOUND',
  413: 'DISTCI_BODY_TOO_LARGE',
  415: 'DISTCI_UNSUPPORTED_MEDIA_TYPE',
  429: 'DISTCI_RATE_LIMITED',
};

interface ValidationItem {
  instancePath?: string;
  schemaPath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function validationAnswer(err: FastifyError, requestId: string): ErrorBody {
  const part = err.validationContext ?? 'request';
  const items = (err.validation ?? []) as ValidationItem[];
  const problems = items.map((v) => {
    const missing = v.params?.missingProperty;
    const path = `${v.instancePath ?? ''}${typeof missing === 'string' ? `/${missing}` : ''}`;
    return { path: `${part}${path}`, schemaPath: v.schemaPath ?? '', message: v.message ?? 'is not valid' };
  });
  const first = problems[0];
  return {
    code: 'DISTCI_BAD_REQUEST',
    message: first ? `${first.path} ${first.message}` : `the ${part} is not valid`,
    details: { part, problems },
    requestId,
  };
}

export function errorAnswer(error: unknown, request: FastifyRequest): { status: number; body: ErrorBody } {
  const err = error as FastifyError & { status?: number; details?: Record<string, unknown> };
  const requestId = request.id;
  if (err?.validation) return { status: 400, body: validationAnswer(err, requestId) };
  if (isDistciError(err)) {
    const status = typeof err.status === 'number' ? err.status : ERROR_CODES[err.code].status;
    if (status < 500) {
      return {
        status,
        body: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), requestId },
      };
    }
    return { status, body: { code: err.code, message: ERROR_CODES[err.code].summary, requestId } };
  }
  const status = typeof err?.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) {
    return {
      status,
      body: { code: BY_STATUS[status] ?? 'DISTCI_BAD_REQUEST', message: String(err.message), requestId },
    };
  }
  return {
    status: 500,
    body: {
      code: 'DISTCI_INTERNAL',
      message: `an unexpected error; report it with request id ${requestId}`,
      requestId,
    },
  };
}

export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body } = errorAnswer(error, reply.request);
  if (status >= 500) reply.request.log.error({ err: error, code: body.code }, 'request failed');
  else reply.request.log.info({ code: body.code, status, message: body.message }, 'request refused');
  if (status === 401 && body.code === 'DISTCI_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="distci"');
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

export const errorHandlerPlugin = fp(
  async (fastify: FastifyInstance) => {
    fastify.setErrorHandler((error, _request, reply) => sendError(reply, error));
  },
  { name: 'distci-error-handler' },
);
