/**
 * A worker's options, compiled once at its entry point (flags, then env, then defaults) and frozen.
 *
 * | option | flag | env | default |
 * |---|---|---|---|
 * | labels (exec-shell) | `--labels a,b` | `DISTCI_LABELS` | none |
 * | tickets run at once | `--concurrency N` | `DISTCI_CONCURRENCY` | 1 |
 * | drain grace on SIGTERM | `--grace-ms` | `DISTCI_GRACE_MS` | 30000 |
 * | safety sweep period | `--sweep-ms` | `DISTCI_SWEEP_MS` | 30000 |
 * | worker id | `--worker-id` | `DISTCI_WORKER_ID` | `<host>-<pid>-<random>` |
 * | step isolation (exec-shell) | `--isolation bwrap\|none` | `DISTCI_ISOLATION` | `bwrap` (`distci dev`: `auto`) |
 * | GitHub token for commit statuses (control) | – | `DISTCI_GITHUB_TOKEN` | none: no statuses posted |
 * | GitHub API URL (control) | – | `DISTCI_GITHUB_API_URL` | `https://api.github.com` |
 * | dashboard URL, for statuses' `target_url` (control) | – | `DISTCI_PUBLIC_URL` | none: no `target_url` |
 *
 * Isolation (`kinds/sandbox.ts`): `bwrap` runs each step in bubblewrap and refuses to start without a
 * working one (`DISTCI_NO_SANDBOX`); `none` runs steps as plain processes of the worker; `auto` takes
 * bubblewrap when it works and warns once otherwise.
 */
import { hostname } from 'node:os';
import { distciError, isWorkerKind, LABEL, WORKER_KINDS, type WorkerKind } from '@distci/common';
import { nanoid } from 'nanoid';
import type { GithubOptions } from './control/github-status.js';
import { ISOLATION_MODES, type IsolationMode } from './kinds/sandbox.js';

/** 30 s: long enough for most steps to finish on a rolling restart, short of systemd's 90 s stop limit. */
export const DEFAULT_GRACE_MS = 30_000;
/**
 * 30 s: watches do the real work; the sweep only catches what a lost watch missed (e.g. a watch that
 * fired while the connection was down).
 */
export const DEFAULT_SWEEP_MS = 30_000;

export interface WorkerOptions {
  readonly kind: WorkerKind;
  readonly id: string;
  readonly host: string;
  readonly labels: readonly string[];
  readonly concurrency: number;
  readonly graceMs: number;
  readonly sweepMs: number;
  /** How exec-shell steps are isolated from the worker (other kinds run no step processes). */
  readonly isolation: IsolationMode;
  /** Where a control worker posts the commit statuses of webhook builds. */
  readonly github: GithubOptions;
  readonly version: string;
}

/** An http(s) base URL without its trailing slashes; `what` names the variable in the error. */
function baseUrl(what: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw distciError('DISTCI_BAD_OPTION', `${what}=${raw} is not a URL`, { hint: 'use e.g. https://api.github.com' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw distciError('DISTCI_BAD_OPTION', `${what}=${raw} is not an http(s) URL`, { hint: 'use https://…' });
  }
  return raw.replace(/\/+$/, '');
}

export interface WorkerFlags {
  kind: string;
  labels?: string | readonly string[];
  concurrency?: string | number;
  graceMs?: string | number;
  sweepMs?: string | number;
  workerId?: string;
  isolation?: string;
}

function int(name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw distciError('DISTCI_BAD_OPTION', `${name}=${raw} is not valid`, { hint: `use an integer ${min}..${max}` });
  }
  return n;
}

export function compileWorkerOptions(
  flags: WorkerFlags,
  env: Record<string, string | undefined> = process.env,
): WorkerOptions {
  if (!isWorkerKind(flags.kind)) {
    throw distciError('DISTCI_BAD_OPTION', `'${flags.kind}' is not a worker kind`, {
      hint: `use one of ${WORKER_KINDS.join(', ')}`,
    });
  }
  const rawLabels = flags.labels ?? env.DISTCI_LABELS ?? '';
  const labels = [
    ...new Set((typeof rawLabels === 'string' ? rawLabels.split(',') : rawLabels).map((l) => l.trim()).filter(Boolean)),
  ].sort();
  for (const l of labels) {
    if (!LABEL.test(l)) {
      throw distciError('DISTCI_BAD_OPTION', `label '${l}' is not valid`, {
        hint: 'use 1-64 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit',
      });
    }
  }
  const host = hostname();
  const id = flags.workerId ?? env.DISTCI_WORKER_ID ?? `${host}-${process.pid}-${nanoid(6)}`;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(id)) {
    throw distciError('DISTCI_BAD_OPTION', `worker id '${id}' is not valid`, {
      hint: 'use 1-100 of A-Z a-z 0-9 . _ -',
    });
  }
  const isolation = flags.isolation ?? env.DISTCI_ISOLATION ?? 'bwrap';
  if (!ISOLATION_MODES.includes(isolation as IsolationMode)) {
    throw distciError('DISTCI_BAD_OPTION', `isolation '${isolation}' is not valid`, {
      hint: 'use bwrap (steps in a bubblewrap sandbox), none (steps see the worker) or auto (bwrap when it works)',
    });
  }
  return Object.freeze({
    kind: flags.kind,
    id,
    host,
    labels: Object.freeze(labels),
    concurrency: int('concurrency', flags.concurrency ?? env.DISTCI_CONCURRENCY, 1, 1, 256),
    graceMs: int('grace-ms', flags.graceMs ?? env.DISTCI_GRACE_MS, DEFAULT_GRACE_MS, 0, 3_600_000),
    sweepMs: int('sweep-ms', flags.sweepMs ?? env.DISTCI_SWEEP_MS, DEFAULT_SWEEP_MS, 100, 3_600_000),
    isolation: isolation as IsolationMode,
    github: Object.freeze({
      token: env.DISTCI_GITHUB_TOKEN?.trim() || null,
      apiUrl: baseUrl('DISTCI_GITHUB_API_URL', env.DISTCI_GITHUB_API_URL || 'https://api.github.com'),
      publicUrl: env.DISTCI_PUBLIC_URL ? baseUrl('DISTCI_PUBLIC_URL', env.DISTCI_PUBLIC_URL) : null,
    }),
    version: '0.1.0',
  });
}
