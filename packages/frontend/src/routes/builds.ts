/**
 * Builds: trigger (manual, with ref and params), list (newest first), read, cancel, retry a failed step.
 *
 * - Trigger runs the job's *current* config version (`loadJob(...).version`, an immutable snapshot):
 *   editing the job later never changes this build. One coordination-store transaction
 *   (`builds.trigger`): the build number and its control ticket appear together.
 * - Listing never creates anything (`builds.list`): a job that never had a build lists empty (or 404
 *   when the job does not exist either).
 * - Cancel marks the build and posts a control ticket in one transaction (`cancelBuild`); 409 when the
 *   build finished already.
 * - Retry (`retryBuild`): a new build of the same config version, commit and params, in which only the
 *   failed step and the steps needing it run again; the others are copied from the archived build.
 *   `POST …/builds/:n/retry {"failed": true}` re-runs every step that did not succeed in one build.
 */
import { distciError, resolveParams } from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { BuildListSchema, BuildViewSchema, TriggeredSchema } from '../schemas/build.js';
import { BuildNumber, BuildParams, errors, JobParams, StepParams } from '../schemas/common.js';
import { buildUrl } from '../urls.js';

/** 4 KiB: params live in the build node, and no znode should hold more than a few KiB (invariant 6). */
export const MAX_PARAMS_BYTES = 4096;

const TriggerBody = Type.Object(
  {
    ref: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        // No leading '-': git would read it as an option.
        pattern: '^(?!-)[^\\s\\x00-\\x1f]+$',
        description: 'branch, tag, ref or commit (not starting with -)',
      }),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 9,
        description: "the build's tickets' priority, 9 the most urgent (default: each step's own, 5)",
      }),
    ),
    params: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }),
        Type.String({ maxLength: 2048, pattern: '^[^\\x00]*$' }),
        {
          maxProperties: 64,
          additionalProperties: false,
          description: 'build parameters (names like environment variables)',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const buildRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  /** A build was triggered: counted, 201 with its URL in `Location` and in the answer. */
  const created = (reply: FastifyReply, trigger: 'manual' | 'retry', job: string, number: number) => {
    fastify.metrics.buildsTriggered.inc({ trigger });
    const url = buildUrl(fastify.frontendOptions, job, number);
    reply.code(201).header('location', url);
    return { job, number, url };
  };
  const { jobs, builds } = fastify.distci;
  const options = fastify.frontendOptions;

  fastify.post(
    '/api/v1/jobs/:job/builds',
    {
      bodyLimit: options.bodyLimits.other,
      // The body is optional: no body at all means `{}` (a JSON `null` is not "no body": 400).
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
      schema: {
        tags: ['builds'],
        summary: "Trigger a build of the job's current config",
        params: JobParams,
        body: Type.Optional(TriggerBody),
        response: { 201: TriggeredSchema, ...errors(400, 401, 403, 404, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const { job } = request.params;
      const body = request.body ?? {};
      const params = body.params ?? {};
      if (Buffer.byteLength(JSON.stringify(params)) > MAX_PARAMS_BYTES) {
        throw distciError('DISTCI_BAD_REQUEST', `params are larger than ${MAX_PARAMS_BYTES} bytes`, {
          hint: 'pass large inputs through the repository or artifacts, not build params',
          details: { part: 'body', problems: [{ path: 'body/params', message: 'is too large' }] },
        });
      }
      const stored = await jobs.load(job);
      const number = await builds.trigger({
        job,
        config: stored.version,
        trigger: { type: 'manual', ...(request.caller ? { by: request.caller } : {}) },
        ref: body.ref ?? stored.config.repository?.ref ?? null,
        params: resolveParams(stored.config, params),
        ...(body.priority !== undefined ? { priority: body.priority } : {}),
      });
      return created(reply, 'manual', job, number);
    },
  );

  fastify.get(
    '/api/v1/jobs/:job/builds',
    {
      schema: {
        tags: ['builds'],
        summary: 'Builds of a job, newest first',
        params: JobParams,
        querystring: Type.Object({
          before: Type.Optional(BuildNumber),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        }),
        response: { 200: BuildListSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => builds.list(request.params.job, request.query),
  );

  fastify.get(
    '/api/v1/jobs/:job/builds/:n',
    {
      schema: {
        tags: ['builds'],
        summary: 'A build and its steps (live while it runs, archived after)',
        params: BuildParams,
        response: { 200: BuildViewSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => builds.read(request.params.job, request.params.n),
  );

  fastify.post(
    '/api/v1/jobs/:job/builds/:n/cancel',
    {
      bodyLimit: options.bodyLimits.other,
      schema: {
        tags: ['builds'],
        summary: 'Cancel a running build: running steps are stopped, waiting ones dropped',
        params: BuildParams,
        response: {
          202: Type.Object({ job: Type.String(), number: Type.Integer(), cancelled: Type.Boolean() }),
          ...errors(400, 401, 404, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const { job, n } = request.params;
      if (!(await builds.cancel(job, n, request.caller ?? undefined))) {
        const build = await builds.read(job, n); // 404 when it never existed
        throw distciError('DISTCI_BUILD_FINISHED', `build ${n} of '${job}' finished already (${build.status})`, {
          hint: 'nothing to cancel',
          details: { job, build: n, status: build.status },
        });
      }
      return reply.code(202).send({ job, number: n, cancelled: true });
    },
  );

  fastify.post(
    '/api/v1/jobs/:job/builds/:n/steps/:step/retry',
    {
      bodyLimit: options.bodyLimits.other,
      schema: {
        tags: ['builds'],
        summary: 'Retry a failed step of a finished build: a new build re-runs it and the steps needing it',
        params: StepParams,
        response: { 201: TriggeredSchema, ...errors(400, 401, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { job, n, step } = request.params;
      const number = await builds.retry({
        job,
        build: n,
        step,
        ...(request.caller ? { by: request.caller } : {}),
      });
      return created(reply, 'retry', job, number);
    },
  );

  fastify.post(
    '/api/v1/jobs/:job/builds/:n/retry',
    {
      bodyLimit: options.bodyLimits.other,
      schema: {
        tags: ['builds'],
        summary:
          'Retry the failed steps of a finished build: one new build re-runs every step that did not succeed (failed, timed out, cancelled, skipped) and the steps needing them',
        params: BuildParams,
        body: Type.Object(
          { failed: Type.Literal(true, { description: 'retry every step that did not succeed' }) },
          { additionalProperties: false },
        ),
        response: { 201: TriggeredSchema, ...errors(400, 401, 404, 409, 415, 429) },
      },
    },
    async (request, reply) => {
      const { job, n } = request.params;
      const number = await builds.retry({
        job,
        build: n,
        failed: true,
        ...(request.caller ? { by: request.caller } : {}),
      });
      return created(reply, 'retry', job, number);
    },
  );
};
