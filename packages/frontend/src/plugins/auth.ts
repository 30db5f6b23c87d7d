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
 *
 * Scoped tokens (`tokens/`): a token made with `distci token create` has a role and job patterns
 * (`tokens/grants.ts`); the tokens of `DISTCI_TOKENS` are admin tokens for every job. The token is
 * resolved in `onRequest`, before the rate limit (a route's own onRequest hook), so that the rate
 * limit counts a valid token's requests by token and not by IP: a flood of bad tokens from one
 * address cannot lock out a valid token used from it. What the token may do is checked with the
 * rest, in `preParsing`: DISTCI_FORBIDDEN (403) when its role or job patterns do not allow the request.
 */
import { timingSafeEqual } from 'node:crypto';
import { distciError } from '@distci/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { tokenFromCookie } from '../dashboard/token-cookie.js';
import { tokenDigest } from '../frontend-options.js';
import { checkGrant, type Grant, type Role, roleNeeded } from '../tokens/grants.js';
import { createTokenRegistry, type TokenRegistry } from '../tokens/token-registry.js';

export type AuthNeed = 'write' | 'read' | 'public' | 'signature';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthNeed;
    /** The token role the route needs (default: read for GET/HEAD, `roleNeeded` for the rest). */
    role?: Role;
  }
  interface FastifyRequest {
    /** Who made the request: `token:<8 hex>`, or null when unauthenticated. */
    caller: string | null;
    /** What the request's valid token may do, or null. */
    grant: Grant | null;
  }
  interface FastifyInstance {
    tokens: TokenRegistry;
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

const BEARER = /^Bearer[ \t]+([\x21-\x7e]{1,1024})[ \t]*$/i;

/** The grant of the request's bearer token: a configured token (admin), else a stored one, else null. */
async function resolveGrant(
  authorization: string | undefined,
  digests: readonly Buffer[],
  tokens: TokenRegistry,
): Promise<Grant | null> {
  const caller = authenticate(authorization, digests);
  if (caller) return { caller, role: 'admin', jobs: null };
  const m = BEARER.exec(authorization ?? '');
  return m ? tokens.lookup(tokenDigest(m[1]!).toString('hex')) : null;
}

export const authPlugin = fp(
  async (fastify: FastifyInstance) => {
    const { tokenDigests, readAuth } = fastify.frontendOptions;
    fastify.decorate('tokens', createTokenRegistry(fastify.distci.storage.blob));
    fastify.decorateRequest('caller', null);
    fastify.decorateRequest('grant', null);
    // onRequest, before the rate limit (route-level hooks run after these): it counts by token.
    fastify.addHook('onRequest', async (request) => {
      const required = need(request);
      if (required === 'public' || required === 'signature' || request.headers.authorization === undefined) return;
      request.grant = await resolveGrant(request.headers.authorization, tokenDigests, fastify.tokens);
      request.caller = request.grant?.caller ?? null;
    });
    // preParsing: after the rate limit (a route's onRequest), before a body is read or validated.
    fastify.addHook('preParsing', async (request, _reply, payload) => {
      const required = need(request);
      if (required === 'public' || required === 'signature') return payload;
      // A read may also be authenticated by the dashboard's login cookie (never a write: CSRF).
      if (!request.grant && required === 'read') {
        const cookie = tokenFromCookie(request.headers.cookie);
        if (cookie) {
          request.grant = await resolveGrant(`Bearer ${cookie}`, tokenDigests, fastify.tokens);
          request.caller = request.grant?.caller ?? null;
        }
      }
      if (request.grant) {
        const route = request.routeOptions;
        const job = (request.params as { job?: unknown } | undefined)?.job;
        checkGrant(
          request.grant,
          roleNeeded(request.method, route.url ?? '', route.config?.role),
          typeof job === 'string' ? job : null,
          `${request.method} ${route.url}`,
        );
        return payload;
      }
      if (required === 'read' && readAuth === 'public') return payload;
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
