/**
 * Secrets: set (PUT, create or replace), list, remove. Write-only: no route ever returns a value; the
 * list has names, scope (job patterns), when and by whom. Every route needs an admin token for every
 * job (`config.role`), also the list. The value is sealed (AES-256-GCM) before it is stored
 * (`@distci/common` secret-store); a frontend without `DISTCI_SECRETS_KEY_FILE` refuses to set one
 * (409 DISTCI_SECRETS_DISABLED) and nothing is written.
 */
import {
  assertJobPattern,
  deleteSecret,
  distciError,
  listSecrets,
  MAX_SECRET_BYTES,
  SECRET_NAME,
  setSecret,
} from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors, nullable } from '../schemas/common.js';

const SecretName = Type.String({ pattern: SECRET_NAME.source, description: 'like an environment variable' });
const JobPatterns = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  maxItems: 64,
  description: 'job-name patterns (* and ?) the secret is limited to; none: every job',
});

export const SecretInfoSchema = Type.Object({
  name: Type.String(),
  jobs: Type.Union([Type.Array(Type.String()), Type.Null()]),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  createdBy: nullable(Type.String()),
  updatedBy: nullable(Type.String()),
});

const adminOnly = { auth: 'write', role: 'admin' } as const;

export const secretRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { blob } = fastify.distci.storage;
  const options = fastify.frontendOptions;

  fastify.get(
    '/api/v1/secrets',
    {
      config: adminOnly,
      schema: {
        tags: ['secrets'],
        summary: 'Secrets by name: scope, created, updated, by whom (never a value)',
        response: { 200: Type.Object({ secrets: Type.Array(SecretInfoSchema) }), ...errors(401, 403) },
      },
    },
    async () => ({ secrets: await listSecrets(blob) }),
  );

  fastify.put(
    '/api/v1/secrets/:name',
    {
      config: adminOnly,
      // The value as JSON: up to 6 bytes per byte of the value (\u00XX escapes), plus the scope.
      bodyLimit: 6 * MAX_SECRET_BYTES + 16 * 1024,
      schema: {
        tags: ['secrets'],
        summary: 'Set a secret (create or replace); the answer never holds the value',
        params: Type.Object({ name: SecretName }),
        body: Type.Object(
          { value: Type.String({ minLength: 1 }), jobs: Type.Optional(JobPatterns) },
          { additionalProperties: false },
        ),
        response: { 200: SecretInfoSchema, 201: SecretInfoSchema, ...errors(400, 401, 403, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      if (!options.secretsKey) {
        throw distciError('DISTCI_SECRETS_DISABLED', 'this frontend has no secrets key', {
          hint: 'start every frontend and worker with the same DISTCI_SECRETS_KEY_FILE (docs/configuration.md)',
        });
      }
      const jobs = request.body.jobs ?? null;
      for (const p of jobs ?? []) assertJobPattern(p);
      const { info, created } = await setSecret(blob, options.secretsKey, {
        name: request.params.name,
        value: request.body.value,
        jobs,
        by: request.caller,
      });
      return reply.code(created ? 201 : 200).send(info);
    },
  );

  fastify.delete(
    '/api/v1/secrets/:name',
    {
      config: adminOnly,
      schema: {
        tags: ['secrets'],
        summary: 'Remove a secret',
        params: Type.Object({ name: SecretName }),
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await deleteSecret(blob, request.params.name);
      return reply.code(204).send(null);
    },
  );
};
