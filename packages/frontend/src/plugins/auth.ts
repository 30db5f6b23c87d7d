/**
 * Bearer-token auth. Each route says what it needs in `config.auth`:
 * - `write` (default for every method but GET/HEAD): a valid token, always;
 * - `read` (default for GET/HEAD): a token only when `DISTCI_READ_AUTH=token`;
 * - `public`: never (`/healthz`, `/readyz`, the OpenAPI document);
 * - `signature`: the route authenticates its body itself (the GitHub webhook: HMAC of the raw body).
 *
 * Tokens are stored as sha256 digests (`frontend-options.ts`). A presented token is hashed and compared
 * with every stored digest with `crypto.timingSafeEqual` — all of them, without stopping at a match — so
 * the time taken says nothing about which token, or how much of one, was right.
 * The caller is named `token:<first 8 hex of the digest>` in `request.caller` (for `by` fields and logs).
 * Reads also accept the dashboard's HttpOnly login cookie (`dashboard/token-cookie.ts`); writes never do.
 */
import { timingSafeEqual } from 'node:crypto';
import { distciError } from '@distci/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { tokenFromCookie } from '../dashboard/token-cookie.js';
import { tokenDigest } from '../frontend-options.js';

export type AuthNeed = 'write' | 'read' | 'public' | 'signature';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthNeed;
  }
  interface FastifyRequest {
    /** Who made the request: `token:<8 hex>`, or null when unauthenticated. */
    caller: string | null;
  }
}

/** The caller named by a valid bearer token in `authorization`, or null. */
export function authenticate(authorization: string | undefined, digests: readonly Buffer[]): string | null {
  const m = /^Bearer[ \t]+([\x21-\x7e]{1,1024})[ \t]*$/i.exec(authorization ?? '');
  if (!m) return null;
  const presented = tokenDigest(m[1]!);
  let found: Buffer | null = null;
  for (const digest of digests) {
    if (timingSafeEqual(presented, digest)) found = digest;
  }
  return found ? `token:${found.subarray(0, 4).toString('hex')}` : null;
}

function need(request: FastifyRequest): AuthNeed {
  const configured = request.routeOptions.config?.auth;
  if (configured) return configured;
  if (request.is404) return 'public';
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
}

export const authPlugin = fp(
  async (fastify: FastifyInstance) => {
    const { tokenDigests, readAuth } = fastify.frontendOptions;
    fastify.decorateRequest('caller', null);
    // preParsing: after the rate limit (a route's onRequest), before a body is read or validated.
    fastify.addHook('preParsing', async (request, _reply, payload) => {
      const required = need(request);
      if (required === 'public' || required === 'signature') return payload;
      request.caller = authenticate(request.headers.authorization, tokenDigests);
      // A read may also be authenticated by the dashboard's login cookie (never a write: CSRF).
      const cookie = required === 'read' && !request.caller ? tokenFromCookie(request.headers.cookie) : null;
      if (cookie) request.caller = authenticate(`Bearer ${cookie}`, tokenDigests);
      if (request.caller || (required === 'read' && readAuth === 'public')) return payload;
      const presented = request.headers.authorization !== undefined;
      throw distciError(
        'DISTCI_UNAUTHORIZED',
        presented ? 'the bearer token is not valid' : `${request.method} ${request.url.split('?')[0]} needs a token`,
        {
          hint:
            tokenDigests.length === 0
              ? 'this frontend accepts no tokens: configure DISTCI_TOKENS or DISTCI_TOKENS_FILE'
              : 'send "Authorization: Bearer <token>" with a token from DISTCI_TOKENS or DISTCI_TOKENS_FILE',
        },
      );
    });
  },
  { name: 'distci-auth', dependencies: ['distci-storage'] },
);
