/**
 * distci — shared types.
 *
 * Glossary (the same words are used in code, logs, metrics, the API and the docs):
 * - **job**: a named, versioned JSON config: where the source is, which steps to run, triggers.
 * - **build**: one run of a job, numbered 1, 2, 3… per job, never reused.
 * - **step**: one node of a build's plan (a checkout, a shell script, a publish, a copy).
 * - **ticket**: a small record in the coordination store saying "this step of this build needs doing".
 * - **claim**: an ephemeral node that says "worker W holds this ticket, attempt A". It lives exactly as
 *   long as W's session: that is the lease.
 * - **attempt**: one try at a ticket. A ticket whose claim vanished is *stale* and is resumed by another
 *   worker as the next attempt.
 * - **worker kind**: `control`, `git-checkout`, `exec-shell`, `publish-artifacts`, `copy-artifacts`.
 * - **labels**: strings an exec-shell worker advertises (`linux`, `arm64`, `node20`); a step asks for a
 *   set, and only a worker with all of them may claim it.
 * - **workspace**: the files a step works on, passed between workers through the object store.
 * - **artifact**: a file a build publishes for people and for other jobs.
 *
 * Lifecycle verbs are the same everywhere: post → claim → start → finish (complete | fail | release).
 */

/** The five single-purpose worker kinds. */
export const WORKER_KINDS = ['control', 'git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];

export function isWorkerKind(value: string): value is WorkerKind {
  return (WORKER_KINDS as readonly string[]).includes(value);
}

/** Why a step failed: the code's fault, or the infrastructure's. */
export const FAILURE_REASONS = ['exit-code', 'timeout', 'cancelled', 'infrastructure'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** A build's status. */
export const BUILD_STATUSES = ['queued', 'running', 'success', 'failure', 'cancelled', 'error'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];
