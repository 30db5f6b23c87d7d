/**
 * A worker's options, compiled once at its entry point from the `worker` rows of `OPTION_TABLE`
 * (`@distci/common` option-table.ts: flags, then env, then defaults; docs/configuration.md shows the
 * table) and frozen.
 *
 * Isolation (`kinds/sandbox.ts`): `bwrap` runs each step in bubblewrap and refuses to start without a
 * working one (`DISTCI_NO_SANDBOX`); `none` runs steps as plain processes of the worker; `auto` takes
 * bubblewrap when it works and warns once otherwise.
 */
import { hostname } from 'node:os';
import {
  LOG_LEVELS as COMMON_LOG_LEVELS,
  distciError,
  type Env,
  isWorkerKind,
  LABEL,
  optionRow,
  readOption,
  WORKER_KINDS,
  type WorkerKind,
} from '@distci/common';
import { nanoid } from 'nanoid';
import type { GithubOptions } from './control/github-status.js';
import type { IsolationMode } from './kinds/sandbox.js';

/** The table's defaults, for the code that needs them as numbers. */
export const DEFAULT_GRACE_MS = optionRow('worker', 'graceMs').default as number;
export const DEFAULT_SWEEP_MS = optionRow('worker', 'sweepMs').default as number;

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

export interface WorkerFlags {
  kind: string;
  labels?: string | readonly string[];
  concurrency?: string | number;
  graceMs?: string | number;
  sweepMs?: string | number;
  workerId?: string;
  isolation?: string;
}

export function compileWorkerOptions(flags: WorkerFlags, env: Env = process.env): WorkerOptions {
  if (!isWorkerKind(flags.kind)) {
    throw distciError('DISTCI_BAD_OPTION', `'${flags.kind}' is not a worker kind`, {
      hint: `use one of ${WORKER_KINDS.join(', ')}`,
    });
  }
  const given: Record<string, unknown> = {
    ...flags,
    labels: Array.isArray(flags.labels) ? flags.labels.join(',') : flags.labels,
  };
  const read = <T>(name: string) => readOption<T>('worker', name, given, env);
  const labels = [
    ...new Set(
      read<string[]>('labels')
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ].sort();
  for (const l of labels) {
    if (!LABEL.test(l)) {
      throw distciError('DISTCI_BAD_OPTION', `label '${l}' is not valid`, {
        hint: 'use 1-64 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit',
      });
    }
  }
  const host = hostname();
  return Object.freeze({
    kind: flags.kind,
    id: read<string | undefined>('workerId') ?? `${host}-${process.pid}-${nanoid(6)}`,
    host,
    labels: Object.freeze(labels),
    concurrency: read<number>('concurrency'),
    graceMs: read<number>('graceMs'),
    sweepMs: read<number>('sweepMs'),
    isolation: read<IsolationMode>('isolation'),
    github: Object.freeze({
      token: read<string | undefined>('githubToken')?.trim() || null,
      apiUrl: read<string>('githubApiUrl'),
      publicUrl: read<string | undefined>('publicUrl') ?? null,
    }),
    version: '0.1.0',
  });
}

/** pino's levels, loudest first; `silent` logs nothing (the option table's list). */
export const LOG_LEVELS = COMMON_LOG_LEVELS;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A daemon's log level: the flag, then `DISTCI_LOG_LEVEL` (the `worker` row `logLevel`), then `fallback`. */
export function compileLogLevel(
  flag: string | undefined,
  env: Env = process.env,
  fallback: LogLevel = 'info',
): LogLevel {
  return readOption<LogLevel | undefined>('worker', 'logLevel', { logLevel: flag }, env) ?? fallback;
}
