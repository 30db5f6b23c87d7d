/**
 * The one place where znode paths and object keys are built. Nothing else concatenates them.
 *
 * Coordination store (under the chroot, default `/distci`):
 * ```
 * /jobs/<job>                             config pointer {etag, updatedAt}
 * /jobs/<job>/builds/b-<seq10>            sequential: the build number; data = live build state
 * /jobs/<job>/builds/b-<seq10>/steps/<id> a step's state (queued, then its result)
 * /tickets/<kind>/<labelset>/<rank>-<postedAt>-<seq>
 *                                         persistent sequential ticket, small JSON
 * /claims/<kind>/<ticket-id>-<attempt>    ephemeral: {worker, host, startedAt}; the lease
 * ```
 * Two refinements of DESIGN.md's recommended layout, and why:
 * - A ticket's name carries its rank (9 - priority, one digit) and the ms it was posted (13 digits)
 *   before the sequence: sorting names is priority-then-FIFO across every queue of a kind, and the
 *   queue view computes the oldest wait from names alone, without reading any ticket.
 * - Claims are partitioned by kind: a worker watches only the claims of its own kind, so a claim or
 *   completion wakes the workers that could resume that ticket and nobody else.
 * ```
 * /workers/<kind>/<worker-id>             ephemeral presence (visibility only, never required)
 * /groups/<sha256 of the group name, 40 hex>
 *                                         a concurrency group: {name}; its version bumps on every join
 *                                         and leave (the compare-and-set that makes them race-free)
 * /groups/<key>/m-<seq10>                 persistent sequential: one build in the group, {job, build};
 *                                         the lowest runs, the others wait (`builds/concurrency-group.ts`)
 * /outbox/github-status/<job>~<n10>       a webhook build's commit status still to post to GitHub, with
 *                                         whether a report ticket is out for it (`builds/commit-status.ts`)
 * ```
 * Object store (bucket default `distci`, optional key prefix):
 * ```
 * jobs/<job>/config.json
 * jobs/<job>/versions/<sha256>.json
 * builds/<job>/<n>/build.json
 * builds/<job>/<n>/logs/<step>/<attempt>/<chunk>
 * builds/<job>/<n>/logs/<step>/<attempt>/index/<chunk>  the chunk's line index (distci/log-index.ts)
 * builds/<job>/<n>/artifacts/<path>
 * builds/<job>/<n>/artifacts.json           the artifact manifest (publish-artifacts)
 * builds/<job>/<n>/workspaces/<step>/<attempt>
 * cache/<key>
 * cache/git-checkout/v1/<sha256 of the repository URL>/<commit>
 * webhooks/<source>/deliveries/<delivery>.json  the webhook inbox: one create-only record per delivery
 * webhooks/<source>/open/<delivery>             index of deliveries not completed yet (for the sweeper)
 * secrets/<NAME>.json                        a secret: its scope and its value, AES-256-GCM encrypted
 * tokens/<sha256 hex of the token>.json      an API token's role and job patterns (never the token)
 * ```
 * The artifact manifest sits beside `artifacts/`, not inside it, so that no artifact path can collide
 * with it.
 */
import { createHash } from 'node:crypto';
import { distciError } from './errors.js';
import type { WorkerKind } from './types.js';

/** Job names: `^[a-z0-9][a-z0-9._-]{0,99}$` (safe in URLs, znode names and object keys). */
export const JOB_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
/** Labels: like job names, at most 64 characters. */
export const LABEL = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Step names: letters, digits, ".", "_" and "-", at most 64 (a planned step id adds `[k=v,…]`). */
export const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Environment variable names (job/step `env`, matrix axes): what a POSIX shell accepts. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Matrix values: they become part of a step id and of object keys. */
export const MATRIX_VALUE = /^[A-Za-z0-9._-]{1,64}$/;

export function assertJobName(job: string): string {
  if (!JOB_NAME.test(job)) {
    throw distciError('DISTCI_BAD_PATH', `job name '${job}' is not allowed`, {
      hint: 'use 1-100 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit',
    });
  }
  return job;
}

/** 200 characters: a step id (a matrix combination's `name[k=v,…]`) is one segment of its keys. */
export const MAX_SEGMENT_LENGTH = 200;

/**
 * One path segment (znode name or key segment) from free text such as a step name (`test[cc=gcc]`):
 * refuses `/`, `\`, NUL, empty, `.` and `..`, so a segment can never climb out of its parent.
 */
export function segment(value: string, what = 'name'): string {
  if (value === '' || value === '.' || value === '..' || /[/\\\0]/.test(value) || value.length > MAX_SEGMENT_LENGTH) {
    throw distciError('DISTCI_BAD_PATH', `${what} '${value}' cannot be used in a path`, {
      hint: 'use 1-200 characters without "/", "\\" or NUL, other than "." and ".."',
    });
  }
  return value;
}

/** A label set as one queue name: sorted, de-duplicated, comma-joined; `_` for no labels. */
export function labelSetName(labels: Iterable<string>): string {
  const sorted = [...new Set(labels)].sort();
  for (const label of sorted) {
    if (!LABEL.test(label)) {
      throw distciError('DISTCI_BAD_PATH', `label '${label}' is not allowed`, {
        hint: 'use 1-64 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit',
      });
    }
  }
  return sorted.length === 0 ? '_' : sorted.join(',');
}

/** The labels of a queue name made by `labelSetName`. */
export function parseLabelSetName(name: string): string[] {
  return name === '_' ? [] : name.split(',');
}

const pad10 = (n: number): string => String(n).padStart(10, '0');

/** Znode paths, relative to the store's chroot. */
export const zpaths = {
  jobs: () => '/jobs',
  job: (job: string) => `/jobs/${assertJobName(job)}`,
  /** `job2` has an `after` trigger on `job` (a reverse index kept by the job store). */
  downstreamOf: (job: string) => `/jobs/${assertJobName(job)}/downstream`,
  downstream: (job: string, job2: string) => `/jobs/${assertJobName(job)}/downstream/${assertJobName(job2)}`,
  builds: (job: string) => `/jobs/${assertJobName(job)}/builds`,
  /** Prefix for a sequential create: the server appends the 10-digit build number. */
  buildPrefix: (job: string) => `/jobs/${assertJobName(job)}/builds/b-`,
  build: (job: string, n: number) => `/jobs/${assertJobName(job)}/builds/b-${pad10(n)}`,
  /** Parent of a live build's step states (created with the build node). */
  steps: (job: string, n: number) => `/jobs/${assertJobName(job)}/builds/b-${pad10(n)}/steps`,
  /** One step's state: created `queued` with its ticket, set to its result when that ticket completes. */
  step: (job: string, n: number, step: string) =>
    `/jobs/${assertJobName(job)}/builds/b-${pad10(n)}/steps/${segment(step, 'step')}`,
  /** The build number of a `b-<seq10>` node name, or null. */
  parseBuildName: (name: string): number | null => (/^b-\d{10}$/.test(name) ? Number(name.slice(2)) : null),
  tickets: () => '/tickets',
  ticketKind: (kind: WorkerKind) => `/tickets/${kind}`,
  ticketQueue: (kind: WorkerKind, labels: Iterable<string>) => `/tickets/${kind}/${labelSetName(labels)}`,
  /**
   * Prefix for a sequential ticket create: `<rank>-<postedAt>-`, rank = 9 - priority (priority 9 is the
   * most urgent, as in Buildkite), so ascending names are priority first, then posting time.
   */
  ticketPrefix: (kind: WorkerKind, labels: Iterable<string>, priority: number, postedAt: number) => {
    if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
      throw distciError('DISTCI_BAD_PATH', `priority ${priority} is not allowed`, { hint: 'use an integer 0-9' });
    }
    const at = String(Math.max(0, Math.floor(postedAt))).padStart(13, '0');
    return `/tickets/${kind}/${labelSetName(labels)}/${9 - priority}-${at}-`;
  },
  /** Priority and posting time of a ticket node name made from `ticketPrefix`, or null. */
  parseTicketName: (name: string): { priority: number; postedAt: number; seq: number } | null => {
    const m = /^(\d)-(\d{13})-(\d{10})$/.exec(name);
    return m ? { priority: 9 - Number(m[1]), postedAt: Number(m[2]), seq: Number(m[3]) } : null;
  },
  claims: () => '/claims',
  claimKind: (kind: WorkerKind) => `/claims/${kind}`,
  /** A ticket id is `<labelset>~<name>`, unique within its kind. */
  claim: (kind: WorkerKind, ticketId: string, attempt: number) =>
    `/claims/${kind}/${segment(ticketId, 'ticket id')}-${attempt}`,
  /** A claim node by its name as listed under `claimKind` (`<ticket id>-<attempt>`). */
  claimNamed: (kind: WorkerKind, name: string) => `/claims/${kind}/${segment(name, 'claim')}`,
  workers: () => '/workers',
  workerKind: (kind: WorkerKind) => `/workers/${kind}`,
  worker: (kind: WorkerKind, workerId: string) => `/workers/${kind}/${segment(workerId, 'worker id')}`,
  statusOutboxes: () => '/outbox/github-status',
  /** A build's commit status outbox (job names have no `~`). */
  statusOutbox: (job: string, n: number) => `/outbox/github-status/${assertJobName(job)}~${pad10(n)}`,
  groups: () => '/groups',
  /** A concurrency group's node, named by the sha256 of its (free text) name: any name is one segment. */
  group: (name: string) => `/groups/${createHash('sha256').update(name).digest('hex').slice(0, 40)}`,
  /** Prefix for a sequential member create: the server appends the 10-digit join order. */
  groupMemberPrefix: (name: string) => `${zpaths.group(name)}/m-`,
  /** A member node by its name as listed under `group` (`m-<seq10>`). */
  groupMember: (name: string, member: string) => `${zpaths.group(name)}/${segment(member, 'group member')}`,
  /** The join order of a `m-<seq10>` member name, or null. */
  parseGroupMemberName: (name: string): number | null => (/^m-\d{10}$/.test(name) ? Number(name.slice(2)) : null),
  /** A ticket queue node by its name as listed under `ticketKind` (a label set name). */
  queueNamed: (kind: WorkerKind, queue: string) => `/tickets/${kind}/${segment(queue, 'queue')}`,
} as const;

/** Object keys, relative to the store's bucket (and key prefix). */
export const blobKeys = {
  jobConfig: (job: string) => `jobs/${assertJobName(job)}/config.json`,
  /** An immutable snapshot of one version of a job config, named by its sha256: builds run these. */
  jobConfigVersion: (job: string, sha256: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw distciError('DISTCI_BAD_PATH', `'${sha256}' is not a sha256`);
    return `jobs/${assertJobName(job)}/versions/${sha256}.json`;
  },
  jobsPrefix: () => 'jobs/',
  build: (job: string, n: number) => `builds/${assertJobName(job)}/${n}/build.json`,
  buildsPrefix: (job: string) => `builds/${assertJobName(job)}/`,
  logChunk: (job: string, n: number, step: string, attempt: number, chunk: number) =>
    `builds/${assertJobName(job)}/${n}/logs/${segment(step, 'step')}/${attempt}/${pad10(chunk)}`,
  /** The line index of chunk `chunk` (`distci/log-index.ts`): beside the chunks, deleted with them. */
  logIndex: (job: string, n: number, step: string, attempt: number, chunk: number) =>
    `builds/${assertJobName(job)}/${n}/logs/${segment(step, 'step')}/${attempt}/index/${pad10(chunk)}`,
  logPrefix: (job: string, n: number, step: string, attempt: number) =>
    `builds/${assertJobName(job)}/${n}/logs/${segment(step, 'step')}/${attempt}/`,
  artifact: (job: string, n: number, path: string) =>
    `builds/${assertJobName(job)}/${n}/artifacts/${relativePath(path, 'artifact path')}`,
  artifactsPrefix: (job: string, n: number) => `builds/${assertJobName(job)}/${n}/artifacts/`,
  /** The build's artifact manifest: `{path, size, sha256, contentType, step}` per artifact, sorted by path. */
  artifactManifest: (job: string, n: number) => `builds/${assertJobName(job)}/${n}/artifacts.json`,
  workspace: (job: string, n: number, step: string, attempt: number) =>
    `builds/${assertJobName(job)}/${n}/workspaces/${segment(step, 'step')}/${attempt}`,
  cache: (key: string) => `cache/${relativePath(key, 'cache key')}`,
  /** The inbox record of one webhook delivery (`source` e.g. `github`, `delivery` its id). */
  webhookDelivery: (source: string, delivery: string) =>
    `webhooks/${webhookName(source, 'source')}/deliveries/${webhookName(delivery, 'delivery id')}.json`,
  /** A delivery whose builds are not all triggered yet; removed once they are. */
  webhookOpen: (source: string, delivery: string) =>
    `webhooks/${webhookName(source, 'source')}/open/${webhookName(delivery, 'delivery id')}`,
  /** A secret (`secrets/secret-store.ts`); names like environment variables: `SECRET_NAME`. */
  secret: (name: string) => `secrets/${assertSecretName(name)}.json`,
  secretsPrefix: () => 'secrets/',
  /** An API token, named by the sha256 of the token: the key says nothing about the token itself. */
  token: (digestHex: string) => {
    if (!/^[0-9a-f]{64}$/.test(digestHex)) throw distciError('DISTCI_BAD_PATH', `'${digestHex}' is not a sha256`);
    return `tokens/${digestHex}.json`;
  },
  tokensPrefix: () => 'tokens/',
  webhookOpenPrefix: (source: string) => `webhooks/${webhookName(source, 'source')}/open/`,
  /**
   * A checkout's workspace archive, content-addressed by (repository, commit): `v1` names the archive's
   * form (working tree + a one-commit `.git`), so a change of form never reads an old entry.
   */
  checkoutCache: (repositorySha256: string, commit: string) => {
    if (!/^[0-9a-f]{64}$/.test(repositorySha256)) {
      throw distciError('DISTCI_BAD_PATH', `'${repositorySha256}' is not a sha256`);
    }
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) {
      throw distciError('DISTCI_BAD_PATH', `'${commit}' is not a full commit id`);
    }
    return `cache/git-checkout/v1/${repositorySha256}/${commit}`;
  },
} as const;

/** Secret names: like environment variables, `^[A-Za-z_][A-Za-z0-9_]{0,63}$` (the step sees one by its name). */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function assertSecretName(name: string): string {
  if (!SECRET_NAME.test(name)) {
    throw distciError('DISTCI_BAD_PATH', `secret name '${name}' is not allowed`, {
      hint: 'use 1-64 characters of A-Z, a-z, 0-9 and "_", not starting with a digit (like NPM_TOKEN)',
    });
  }
  return name;
}

/** Webhook sources and delivery ids (GitHub's are GUIDs): `^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`. */
export const WEBHOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function webhookName(value: string, what: string): string {
  if (!WEBHOOK_NAME.test(value)) {
    throw distciError('DISTCI_BAD_PATH', `${what} '${value}' is not allowed`, {
      hint: 'use 1-100 characters of A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit',
    });
  }
  return value;
}

/**
 * A relative, normalized `/`-separated path that cannot escape its root: no leading `/`, no empty,
 * `.` or `..` segment, no backslash or NUL. Used for object keys and for paths inside workspaces.
 */
export function relativePath(path: string, what = 'path'): string {
  const bad = (why: string) =>
    distciError('DISTCI_BAD_PATH', `${what} '${path}' ${why}`, {
      hint: 'use a relative path like "dist/app.tar.gz" without "..", "." or empty segments',
    });
  if (path === '') throw bad('is empty');
  if (/[\\\0]/.test(path)) throw bad('contains a backslash or NUL');
  if (path.startsWith('/')) throw bad('is absolute');
  if (Buffer.byteLength(path) > 1024) throw bad('is longer than 1024 bytes');
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') throw bad('has an empty, "." or ".." segment');
  }
  return path;
}
