/**
 * Job-name patterns, for the scope of a secret and of an API token: `*` matches any run of characters,
 * `?` one character, everything else itself (`web-*`, `release`, `*-deploy`). Job names have no `/`,
 * so there is nothing else to match.
 */
import { distciError } from '../errors.js';

/** What a pattern may hold: a job name's characters plus `*` and `?`. */
export const JOB_PATTERN = /^[a-z0-9.*?_-]{1,100}$/;

export function assertJobPattern(pattern: string): string {
  if (!JOB_PATTERN.test(pattern)) {
    throw distciError('DISTCI_BAD_REQUEST', `job pattern '${pattern}' is not valid`, {
      hint: 'use job-name characters (a-z, 0-9, ".", "_", "-") and the wildcards * and ?',
    });
  }
  return pattern;
}

export function jobPatternMatches(pattern: string, job: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(job);
}

/** Whether `job` is in a scope: null (every job) or a list of patterns, any of which may match. */
export function inJobScope(patterns: readonly string[] | null, job: string): boolean {
  return patterns === null || patterns.some((p) => jobPatternMatches(p, job));
}
