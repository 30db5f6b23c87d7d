/**
 * What a token may do: its role and its job patterns (a grant), and what a request needs.
 *
 * Roles are ordered, each including the ones before it:
 * - `read`: every GET (when `DISTCI_READ_AUTH=token` makes reads need a token at all);
 * - `trigger`: also trigger, cancel and retry builds (`TRIGGER_ROUTES`);
 * - `admin`: everything: job configs, secrets, tokens.
 * Job patterns (`web-*`) limit a token to the routes of matching jobs (those with a `:job` in their
 * URL); a limited token cannot use a route that changes something without naming a job (creating a
 * job with `POST /api/v1/jobs`, secrets, tokens). Tokens of `DISTCI_TOKENS` / `DISTCI_TOKENS_FILE` are
 * admin tokens for every job.
 */

import type { Role } from '@distci/common';
import { distciError, inJobScope } from '@distci/common';

export type { Role };
export const ROLES: readonly Role[] = ['read', 'trigger', 'admin'];

export interface Grant {
  /** Names the token in logs and `by` fields: `token:<first 8 hex of its digest>`. */
  caller: string;
  role: Role;
  jobs: readonly string[] | null;
}

/** The routes a `trigger` token may use besides reads (method and route URL as fastify spells them). */
export const TRIGGER_ROUTES: ReadonlySet<string> = new Set([
  'POST /api/v1/jobs/:job/builds',
  'POST /api/v1/jobs/:job/builds/:n/cancel',
  'POST /api/v1/jobs/:job/builds/:n/steps/:step/retry',
]);

/** The role a request needs: a route's own `config.role`, else read for GET/HEAD, trigger or admin. */
export function roleNeeded(method: string, url: string, configured: Role | undefined): Role {
  if (configured) return configured;
  if (method === 'GET' || method === 'HEAD') return 'read';
  return TRIGGER_ROUTES.has(`${method} ${url}`) ? 'trigger' : 'admin';
}

/** Throws DISTCI_FORBIDDEN unless `grant` allows a request needing `role`, for `job` (null: none named). */
export function checkGrant(grant: Grant, role: Role, job: string | null, what: string): void {
  if (ROLES.indexOf(grant.role) < ROLES.indexOf(role)) {
    throw distciError('DISTCI_FORBIDDEN', `${what} needs a ${role} token; this one is ${grant.role}`, {
      hint: `make one with: distci token create --role ${role}`,
      details: { need: role, role: grant.role },
    });
  }
  if (grant.jobs === null || (role === 'read' && job === null)) return;
  if (job === null) {
    throw distciError(
      'DISTCI_FORBIDDEN',
      `${what} needs a token for every job; this one is for ${grant.jobs.join(', ')}`,
      {
        details: { need: role, jobs: grant.jobs },
      },
    );
  }
  if (!inJobScope(grant.jobs, job)) {
    throw distciError('DISTCI_FORBIDDEN', `this token is for jobs ${grant.jobs.join(', ')}, not '${job}'`, {
      details: { need: role, jobs: grant.jobs, job },
    });
  }
}
