/**
 * Artifacts: the list (manifest) and downloads.
 *
 * A download can never be turned against the API's origin (DistCI served artifacts without a content
 * type from the UI's origin: stored XSS). Every download is:
 * - `Content-Disposition: attachment` (a browser saves it, never renders it inline),
 * - `Content-Type` from the manifest (sanitised; `application/octet-stream` otherwise) with
 *   `X-Content-Type-Options: nosniff` (no guessing HTML from bytes),
 * - `Content-Security-Policy: default-src 'none'; sandbox` (if rendered anyway: no script, no origin).
 *
 * Paths: the wildcard is checked with `relativePath` after URL decoding — `..`, `%2e%2e`, `%2F..`, a
 * backslash, an absolute or empty segment → 400 `DISTCI_BAD_PATH` — and must be listed in the manifest
 * (404 `DISTCI_ARTIFACT_NOT_FOUND`); the object key is built from the listed entry only.
 */
import { distciError, relativePath } from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listArtifacts } from '../artifact-list.js';
import { BuildNumber, BuildParams, errors, JobName } from '../schemas/common.js';

const ArtifactSchema = Type.Object({
  path: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  contentType: Type.String(),
  step: Type.String(),
  build: Type.Integer({ description: 'the build whose object it is (a retry lists copied steps’ artifacts)' }),
  url: Type.String(),
});

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function artifactUrl(prefix: string, job: string, n: number, path: string): string {
  return `${prefix}/api/v1/jobs/${job}/builds/${n}/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export const artifactRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { distci } = fastify;
  const prefix = fastify.frontendOptions.publicUrl ?? '';

  fastify.get(
    '/api/v1/jobs/:job/builds/:n/artifacts',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'The artifacts a build published',
        params: BuildParams,
        response: { 200: Type.Object({ artifacts: Type.Array(ArtifactSchema) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { job, n } = request.params;
      const entries = await listArtifacts(distci, job, n, request.log);
      return { artifacts: entries.map((e) => ({ ...e, url: artifactUrl(prefix, job, n, e.path) })) };
    },
  );

  fastify.get(
    '/api/v1/jobs/:job/builds/:n/artifacts/*',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'Download an artifact (always as an attachment)',
        params: Type.Object({ job: JobName, n: BuildNumber, '*': Type.String({ maxLength: 1024 }) }),
        response: {
          200: {
            description: 'the artifact bytes, with the content type recorded when it was published',
            content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { job, n } = request.params;
      const path = relativePath(request.params['*'], 'artifact path');
      const entry = (await listArtifacts(distci, job, n, request.log)).find((e) => e.path === path);
      if (!entry) {
        throw distciError('DISTCI_ARTIFACT_NOT_FOUND', `build ${n} of '${job}' has no artifact '${path}'`, {
          hint: `list them with GET /api/v1/jobs/${job}/builds/${n}/artifacts`,
          details: { job, build: n, path },
        });
      }
      const { body } = await distci.artifacts.open(job, entry.build, entry.path);
      return reply
        .type(entry.contentType)
        .header('content-length', String(entry.size))
        .header('content-disposition', contentDisposition(entry.path))
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('etag', `"${entry.sha256}"`)
        .send(body as never); // a stream: fastify pipes it (the typed payload is the documented string)
    },
  );
};
