/**
 * Jobs: create (POST, create-only), create-or-replace (PUT, optionally conditional on `If-Match`), read
 * (with `ETag`), list (paginated), delete. Configs live in the object store (`job-store.ts`); their
 * ETag is the version a client sends back in `If-Match` for a compare-and-set.
 *
 * An invalid config → 400 `DISTCI_INVALID_JOB`, `details.problems` listing every problem with its JSON
 * path, and nothing is written (invariant 9): `validateJob` runs before any write.
 */
import {
  credentialWarnings,
  distciError,
  isDistciError,
  localRepositoryError,
  localRepositoryProblem,
  type Problem,
  type StoredJob,
  validateJob,
} from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorSchema, errors, JobParams } from '../schemas/common.js';
import { JobConfigBody, JobListSchema, JobSchema } from '../schemas/job.js';
import { jobUrl, parseEtagHeader, quoteEtag } from '../urls.js';

const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 256, description: 'the ETag of the config you edited' })),
});

function jobBody(job: StoredJob) {
  return { name: job.config.name, etag: job.etag, version: job.version.etag, config: job.config };
}

/** A saved job's body, with a warning for each `env` value that looks like a credential (`credential-env.ts`). */
const savedBody = (job: StoredJob) => ({ ...jobBody(job), warnings: credentialWarnings(job.config) });

/** DISTCI_INVALID_JOB in the words of `parseJob`, for problems found here too (the name vs the URL). */
function invalidJob(problems: Problem[]) {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return distciError('DISTCI_INVALID_JOB', `${first.path || 'job'}: ${first.message}${more}`, {
    details: { problems },
  });
}

function badIfMatch(value: string): never {
  throw distciError('DISTCI_BAD_REQUEST', `If-Match '${value}' is not one ETag`, {
    hint: 'send the single ETag a GET of the job returned, e.g. If-Match: "9b2…", or *',
  });
}

export const jobRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { jobs } = fastify.distci;
  const options = fastify.frontendOptions;
  // A local repository URL reads the worker's disk (another job's git cache, any checkout): refused
  // unless the operator allows them (`repository-location.ts`).
  fastify.addHook('preHandler', async (request) => {
    if (request.method !== 'POST' && request.method !== 'PUT') return;
    const url = (request.body as { repository?: { url?: unknown } } | null)?.repository?.url;
    if (typeof url === 'string' && localRepositoryProblem(url, options.allowLocalRepositories)) {
      throw localRepositoryError(url);
    }
  });

  fastify.post(
    '/api/v1/jobs',
    {
      bodyLimit: options.bodyLimits.job,
      schema: {
        tags: ['jobs'],
        summary: 'Create a job (fails with 409 when one has that name)',
        body: JobConfigBody,
        response: { 201: JobSchema, ...errors(400, 401, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const job = await jobs.save(request.body, { createOnly: true });
      reply.code(201).header('etag', quoteEtag(job.etag)).header('location', jobUrl(options, job.config.name));
      return savedBody(job);
    },
  );

  fastify.put(
    '/api/v1/jobs/:job',
    {
      bodyLimit: options.bodyLimits.job,
      schema: {
        tags: ['jobs'],
        summary: 'Create or replace a job; with If-Match, only if it is still at that ETag',
        params: JobParams,
        headers: IfMatchHeaders,
        body: JobConfigBody,
        response: { 200: JobSchema, 201: JobSchema, ...errors(400, 401, 412, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const { job } = request.params;
      const result = validateJob(request.body);
      const problems: Problem[] = result.ok ? [] : [...result.problems];
      const name = (request.body as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && name !== job) {
        problems.push({ path: 'name', message: `is '${name}' but the URL names job '${job}'; they must be equal` });
      }
      if (problems.length) throw invalidJob(problems);
      const ifMatch = parseEtagHeader(request.headers['if-match']);
      if (ifMatch === undefined) badIfMatch(request.headers['if-match'] ?? '');
      let etag: string | undefined;
      let existed: boolean;
      if (ifMatch === '*') {
        const current = await jobs.load(job).catch((err) => {
          if (isDistciError(err, 'DISTCI_JOB_NOT_FOUND')) {
            throw distciError('DISTCI_JOB_CHANGED', `job '${job}' does not exist (If-Match: *)`, {
              hint: 'create it without If-Match, or with POST /api/v1/jobs',
              details: { job },
            });
          }
          throw err;
        });
        etag = current.etag;
        existed = true;
      } else if (ifMatch !== null) {
        etag = ifMatch;
        existed = true;
      } else {
        existed = await jobs.exists(job);
      }
      const saved = await jobs.save(request.body, etag ? { ifMatch: etag } : {});
      reply.code(existed ? 200 : 201).header('etag', quoteEtag(saved.etag));
      if (!existed) reply.header('location', jobUrl(options, job));
      return savedBody(saved);
    },
  );

  fastify.get(
    '/api/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List jobs by name; a page may hold fewer than limit: continue while next is not null',
        querystring: Type.Object({
          cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
        }),
        response: { 200: JobListSchema, ...errors(400, 401) },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      let page: Awaited<ReturnType<typeof jobs.page>>;
      try {
        page = await jobs.page({ limit, ...(cursor ? { cursor } : {}) });
      } catch (err) {
        if (cursor && isDistciError(err, 'DISTCI_BAD_OPTION')) {
          throw distciError('DISTCI_BAD_REQUEST', 'the cursor is not one this API returned', {
            hint: 'pass the `next` of the previous page unchanged, or no cursor to start over',
          });
        }
        throw err;
      }
      // A deleted job keeps its immutable versions (builds may still run them): skip names without a config.
      const found = await Promise.all(
        page.names.map((name) =>
          jobs.load(name).catch((err) => {
            if (isDistciError(err, 'DISTCI_JOB_NOT_FOUND') || isDistciError(err, 'DISTCI_BAD_PATH')) return null;
            throw err;
          }),
        ),
      );
      return {
        jobs: found
          .filter((j): j is StoredJob => j !== null)
          .map((j) => ({
            name: j.config.name,
            etag: j.etag,
            description: j.config.description ?? null,
            repository: j.config.repository?.url ?? null,
            steps: j.config.steps.length,
          })),
        next: page.cursor,
      };
    },
  );

  fastify.get(
    '/api/v1/jobs/:job',
    {
      schema: {
        tags: ['jobs'],
        summary: 'A job config, with its ETag',
        params: JobParams,
        response: { 200: JobSchema, 304: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const job = await jobs.load(request.params.job);
      reply.header('etag', quoteEtag(job.etag));
      if (parseEtagHeader(request.headers['if-none-match']) === job.etag) return reply.code(304).send(null);
      return jobBody(job);
    },
  );

  fastify.delete(
    '/api/v1/jobs/:job',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Delete a job config (its builds stay, and its build numbers are never reused)',
        params: JobParams,
        response: { 204: Type.Null(), 404: ErrorSchema, ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      await jobs.delete(request.params.job);
      return reply.code(204).send(null);
    },
  );
};
