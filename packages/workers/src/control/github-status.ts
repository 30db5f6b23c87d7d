/**
 * Posting one commit status to GitHub (`POST /repos/{owner}/{repo}/statuses/{sha}`), for the control
 * worker's `report` tickets (`@distci/common` builds/commit-status.ts holds the outbox).
 *
 * - 2xx: posted.
 * - 5xx, a timeout (10 s) or a network error: tried again here, backing off (3 tries in all), then
 *   thrown — the ticket runtime backs off further and gives the ticket back for a later attempt.
 * - Rate limited (429, or 403 with `x-ratelimit-remaining: 0` or `retry-after`): not tried again now;
 *   the answer says when (`retry-after` seconds, else `x-ratelimit-reset`, else a minute), and the
 *   handler posts a report ticket due then, so a rate limit spends no attempt.
 * - Any other 4xx (a wrong token, a repository the token cannot see, 422): permanent, not retried.
 */
import { type StatusOutbox, statusContext } from '@distci/common';
import { backoffMs, delay } from '../backoff.js';

export interface GithubOptions {
  /** `DISTCI_GITHUB_TOKEN`; null: statuses are not posted. */
  readonly token: string | null;
  /** `DISTCI_GITHUB_API_URL`, no trailing slash. */
  readonly apiUrl: string;
  /** `DISTCI_PUBLIC_URL`: the dashboard's base URL, for `target_url` (none without it). */
  readonly publicUrl: string | null;
}

export type PostResult =
  | { posted: true }
  | { posted: false; permanent: true; message: string }
  | { posted: false; permanent: false; retryAt: number; message: string };

export const GITHUB_TIMEOUT_MS = 10_000;
const TRIES = 3;

/** The build page's URL, when the dashboard's public URL is known. */
export function targetUrl(github: GithubOptions, job: string, build: number): string | null {
  return github.publicUrl ? `${github.publicUrl}/jobs/${encodeURIComponent(job)}/builds/${build}` : null;
}

/** When a rate-limited answer says to come back (ms since the epoch), or null when it is not one. */
export function rateLimitedUntil(res: Response, now: number): number | null {
  const retryAfter = res.headers.get('retry-after');
  const remaining = res.headers.get('x-ratelimit-remaining');
  if (res.status !== 429 && !(res.status === 403 && (remaining === '0' || retryAfter !== null))) return null;
  if (retryAfter !== null && /^\d+$/.test(retryAfter)) return now + Number(retryAfter) * 1000;
  const reset = res.headers.get('x-ratelimit-reset');
  if (reset !== null && /^\d+$/.test(reset)) return Math.max(now, Number(reset) * 1000);
  return now + 60_000;
}

export async function postCommitStatus(
  github: GithubOptions & { token: string },
  outbox: StatusOutbox,
  options: { fetch?: typeof fetch; signal?: AbortSignal } = {},
): Promise<PostResult> {
  const doFetch = options.fetch ?? fetch;
  const url = `${github.apiUrl}/repos/${outbox.repo.split('/').map(encodeURIComponent).join('/')}/statuses/${outbox.sha}`;
  const target = targetUrl(github, outbox.job, outbox.build);
  const body = JSON.stringify({
    state: outbox.state,
    description: outbox.description.slice(0, 140),
    context: statusContext(outbox.job),
    ...(target ? { target_url: target } : {}),
  });
  let last = '';
  for (let attempt = 0; attempt < TRIES; attempt++) {
    if (attempt > 0) await delay(backoffMs(attempt, 500, 5000), options.signal);
    let res: Response;
    try {
      const timeout = AbortSignal.timeout(GITHUB_TIMEOUT_MS);
      res = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${github.token}`,
          accept: 'application/vnd.github+json',
          'content-type': 'application/json',
          'user-agent': 'distci',
          'x-github-api-version': '2022-11-28',
        },
        body,
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
    } catch (err) {
      last = `POST ${url}: ${(err as Error).message}`;
      continue; // a timeout or a network error: try again
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return { posted: true };
    const until = rateLimitedUntil(res, Date.now());
    const said = `GitHub answered ${res.status} to POST ${url}: ${text.slice(0, 200)}`;
    if (until !== null) return { posted: false, permanent: false, retryAt: until, message: said };
    if (res.status >= 500) {
      last = said;
      continue;
    }
    return { posted: false, permanent: true, message: said };
  }
  throw new Error(`the commit status was not posted after ${TRIES} tries: ${last}`);
}
