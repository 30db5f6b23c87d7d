/**
 * Scoped API tokens: make one (the answer holds the token, the only time it is ever shown), list them
 * (id, role, job patterns, description, when and by whom), remove one. Every route needs an admin token
 * for every job. Records are stored by the token's sha256 (`@distci/common`, `secrets/token-store.ts`); a token made or
 * removed here counts on this frontend at once, on others within `REFRESH_MS` (5 s).
 */

import { createToken, deleteToken, listTokens } from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, nullable } from '../schemas/common.js';

const Role = Type.Union([Type.Literal('read'), Type.Literal('trigger'), Type.Literal('admin')], {
  description: 'read < trigger (also trigger, cancel, retry builds) < admin (everything)',
});

const TokenInfoSchema = Type.Object({
  id: Type.String(),
  role: Role,
  jobs: Type.Union([Type.Array(Type.String()), Type.Null()]),
  description: nullable(Type.String()),
  createdAt: Type.Integer(),
  createdBy: nullable(Type.String()),
});

const adminOnly = { auth: 'write', role: 'admin' } as const;

export const tokenRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { blob } = fastify.distci.storage;

  fastify.get(
    '/api/v1/tokens',
    {
      config: adminOnly,
      schema: {
        tags: ['tokens'],
        summary: 'API tokens made with POST /api/v1/tokens (never the token itself)',
        response: { 200: Type.Object({ tokens: Type.Array(TokenInfoSchema) }), ...errors(401, 403) },
      },
    },
    async () => ({ tokens: await listTokens(blob) }),
  );

  fastify.post(
    '/api/v1/tokens',
    {
      config: adminOnly,
      bodyLimit: fastify.frontendOptions.bodyLimits.other,
      schema: {
        tags: ['tokens'],
        summary: 'Make a token with a role and optional job patterns; the answer is the only place it is shown',
        body: Type.Object(
          {
            role: Role,
            jobs: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 64, description: 'job patterns' }),
            ),
            description: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ token: Type.String(), ...TokenInfoSchema.properties }),
          ...errors(400, 401, 403, 413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      const { token, info } = await createToken(blob, {
        role: request.body.role,
        jobs: request.body.jobs ?? null,
        description: request.body.description ?? null,
        by: request.caller,
      });
      fastify.tokens.invalidate();
      return reply.code(201).send({ token, ...info });
    },
  );

  fastify.delete(
    '/api/v1/tokens/:id',
    {
      config: adminOnly,
      schema: {
        tags: ['tokens'],
        summary: 'Remove a token: it stops working here at once, on every frontend within 5 s',
        params: Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) }),
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await deleteToken(blob, request.params.id);
      fastify.tokens.invalidate();
      return reply.code(204).send(null);
    },
  );
};
