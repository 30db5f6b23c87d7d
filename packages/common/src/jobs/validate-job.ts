/**
 * Validates a job config: the JSON Schema first (ajv, every problem at once), then what a schema cannot
 * say — duplicate step names, `needs` naming no step, cycles, a checkout without a repository, matrix
 * size. Each problem names its JSON path and what to do:
 * `steps[2].needs: no step named 'dep'; steps are: checkout, deps, test, publish`.
 * The input is never modified; defaults are filled in a copy.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { distciError } from '../errors.js';
import { groupTemplateProblems } from './concurrency-template.js';
import type { JobConfig } from './job-config.js';
import { paramProblems } from './job-params.js';
import { jobSchema, STEP_TYPES } from './job-schema.js';
import { limitProblems } from './validate-limits.js';

export interface Problem {
  /** JSON path: `steps[2].needs`, `` for the whole document. */
  path: string;
  message: string;
}

/** 256: a matrix larger than this is almost always a mistake, and each combination is a ticket. */
export const MAX_MATRIX_COMBINATIONS = 256;
/**
 * 4,096 planned steps in a build (matrices expanded; e.g. 16 steps × 256 values): every control turn
 * reads every step's node, and the record lists them all (~0.5 KiB each, 2 MiB at this bound).
 */
export const MAX_PLANNED_STEPS = 4096;

const ajv = new Ajv({ allErrors: true, discriminator: true, useDefaults: true, strict: false });
const validateSchema = ajv.compile(jobSchema);

function jsonPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) {
    const key = p.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`;
  }
  return out;
}

function describe(e: ErrorObject): Problem {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: jsonPath(e.instancePath, String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return {
        path: jsonPath(e.instancePath, String(params.additionalProperty)),
        message: 'is not a known field; remove it or check its spelling (see docs/job-config.md)',
      };
    case 'discriminator':
      return {
        path: jsonPath(e.instancePath, 'type'),
        message: `is not a step type; types are: ${STEP_TYPES.join(', ')}`,
      };
    case 'enum':
      return {
        path: jsonPath(e.instancePath),
        message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'pattern': {
      const path = jsonPath(e.instancePath);
      if (/(^|\.)timeout$/.test(path)) return { path, message: 'is not a duration; write it like 90s, 30m or 1h30m' };
      return { path, message: `must match ${String(params.pattern)}` };
    }
    default:
      return { path: jsonPath(e.instancePath), message: e.message ?? 'is not valid' };
  }
}

function semanticProblems(job: JobConfig): Problem[] {
  const problems: Problem[] = [];
  const names = job.steps.map((s) => s.name);
  const seen = new Map<string, number>();
  job.steps.forEach((s, i) => {
    if (seen.has(s.name)) {
      problems.push({
        path: `steps[${i}].name`,
        message: `'${s.name}' is also the name of steps[${seen.get(s.name)}]; names must be unique`,
      });
    } else seen.set(s.name, i);
  });
  job.steps.forEach((s, i) => {
    (s.needs ?? []).forEach((n) => {
      if (n === s.name) problems.push({ path: `steps[${i}].needs`, message: `step '${s.name}' cannot need itself` });
      else if (!seen.has(n)) {
        problems.push({ path: `steps[${i}].needs`, message: `no step named '${n}'; steps are: ${names.join(', ')}` });
      }
    });
    if (s.type === 'git-checkout' && !job.repository) {
      problems.push({
        path: `steps[${i}]`,
        message: 'a git-checkout step needs the job\'s repository; add "repository": {"url": …} or remove the step',
      });
    }
    if (s.type === 'exec-shell' && s.matrix) {
      const combos = Object.values(s.matrix).reduce((n, values) => n * values.length, 1);
      if (combos > MAX_MATRIX_COMBINATIONS) {
        problems.push({
          path: `steps[${i}].matrix`,
          message: `expands to ${combos} steps; at most ${MAX_MATRIX_COMBINATIONS}`,
        });
      }
    }
  });
  const planned = job.steps.reduce(
    (n, s) => n + (s.type === 'exec-shell' && s.matrix ? Object.values(s.matrix).reduce((m, v) => m * v.length, 1) : 1),
    0,
  );
  if (planned > MAX_PLANNED_STEPS) {
    problems.push({
      path: 'steps',
      message: `the plan has ${planned} steps (matrices expanded); at most ${MAX_PLANNED_STEPS} in one build`,
    });
  }
  problems.push(...paramProblems(job));
  for (const message of job.concurrency ? groupTemplateProblems(job.concurrency.group) : []) {
    problems.push({ path: 'concurrency.group', message });
  }
  if (problems.length === 0) {
    const cycle = findCycle(job);
    if (cycle)
      problems.push({ path: 'steps', message: `needs form a cycle: ${cycle.join(' → ')}; remove one of these needs` });
  }
  return problems;
}

/** A cycle in `needs` as a list of names (first = last), or null. */
function findCycle(job: JobConfig): string[] | null {
  const needs = new Map(job.steps.map((s) => [s.name, s.needs ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const n of needs.get(name) ?? []) {
      const found = visit(n);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const s of job.steps) {
    const found = visit(s.name);
    if (found) return found;
  }
  return null;
}

export type ValidationResult = { ok: true; job: JobConfig } | { ok: false; problems: Problem[] };

/**
 * `limits: false` skips `validate-limits.ts` (what a build would only fail on later): for reading a
 * config saved before those checks existed, and for tests of the workers' own defences.
 */
export function validateJob(input: unknown, options: { limits?: boolean } = {}): ValidationResult {
  const copy: unknown = input === undefined ? undefined : structuredClone(input);
  if (!validateSchema(copy)) {
    const problems = (validateSchema.errors ?? []).map(describe);
    // ajv reports a failed `oneOf` branch and its cause; keep one line per path and message.
    const unique = [...new Map(problems.map((p) => [`${p.path}\n${p.message}`, p])).values()];
    return { ok: false, problems: unique };
  }
  const job = copy as JobConfig;
  const problems = [...semanticProblems(job), ...(options.limits === false ? [] : limitProblems(job))];
  return problems.length ? { ok: false, problems } : { ok: true, job };
}

/** The validated job, or DISTCI_INVALID_JOB listing every problem in `details.problems`. */
export function parseJob(input: unknown, options: { limits?: boolean } = {}): JobConfig {
  const result = validateJob(input, options);
  if (result.ok) return result.job;
  const first = result.problems[0]!;
  const more = result.problems.length > 1 ? ` (and ${result.problems.length - 1} more)` : '';
  throw distciError('DISTCI_INVALID_JOB', `${first.path || 'job'}: ${first.message}${more}`, {
    details: { problems: result.problems },
  });
}
