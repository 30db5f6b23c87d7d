/**
 * What a job config's schema accepts but a build of it could only fail on later (invariant 9): each
 * check here refuses at save time, naming the JSON path and the limit, a value that would otherwise
 * fail a step on a worker (a key the store refuses, a path outside the workspace, a git option).
 *
 * | field | refused | why |
 * |---|---|---|
 * | `env`, `steps[].env` values | NUL | a process environment cannot hold NUL: exec fails |
 * | `repository.ref`, `steps[].ref` | a leading `-`, whitespace or control characters | git would read `-…` as an option; no ref name has the rest |
 * | `steps[].into` | absolute, `..`/`.`/empty segments, backslash, NUL | the copy writes inside the workspace only |
 * | `steps[].paths` (publish and copy) | absolute, a `..` segment, NUL, backslash | artifacts live under the workspace and under their build's key prefix |
 * | a segment of `into` or of an artifact path | over 255 bytes | NAME_MAX of common filesystems (ext4, xfs): the directory store and the workspace cannot name it |
 * | an artifact path or `into` | over 900 bytes | S3 keys are at most 1024 bytes; `builds/<job>/<n>/artifacts/` takes up to ~124 |
 * | a step id (`name[k=v,…]` of a matrix combination) | over 200 characters | the step id is one key segment (`segment()` in keys.ts) |
 */
import { MAX_SEGMENT_LENGTH } from '../keys.js';
import type { JobConfig } from './job-config.js';

/** A problem with its JSON path (the same shape as validate-job's). */
interface Problem {
  path: string;
  message: string;
}

/** 255 bytes: NAME_MAX of ext4, xfs, btrfs — one path segment of a workspace file or a stored object. */
export const MAX_PATH_SEGMENT_BYTES = 255;
/**
 * 900 bytes: S3 keys are at most 1024 bytes, and an artifact's key starts with
 * `builds/<job: ≤100>/<n: ≤16>/artifacts/` (≤ 124 bytes).
 */
export const MAX_ARTIFACT_PATH_BYTES = 900;

/** Why `ref` is not a git ref name distci will pass to git, or null. */
export function refProblem(ref: string): string | null {
  if (ref.startsWith('-')) return "cannot start with '-' (git would read it as an option)";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\s\x00-\x1f\x7f]/.test(ref)) return 'cannot contain whitespace or control characters';
  return null;
}

/** Why an artifact path or glob cannot name a file inside the workspace, or null. */
function pathProblem(path: string, glob: boolean): string | null {
  if (path.includes('\0')) return 'contains NUL';
  if (path.includes('\\')) return 'contains a backslash; use "/"';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'is absolute; use a path relative to the workspace';
  const parts = path.split('/');
  if (parts.includes('..')) return "has a '..' segment; paths stay inside the workspace";
  if (!glob && parts.some((p) => p === '' || p === '.')) return 'has an empty or "." segment';
  if (Buffer.byteLength(path) > MAX_ARTIFACT_PATH_BYTES) {
    return `is ${Buffer.byteLength(path)} bytes; at most ${MAX_ARTIFACT_PATH_BYTES}`;
  }
  const long = parts.find((p) => Buffer.byteLength(p) > MAX_PATH_SEGMENT_BYTES);
  if (long !== undefined) {
    return `has a segment of ${Buffer.byteLength(long)} bytes ('${long.slice(0, 20)}…'); at most ${MAX_PATH_SEGMENT_BYTES}`;
  }
  return null;
}

function envProblems(env: Record<string, string> | undefined, at: string, problems: Problem[]): void {
  for (const [name, value] of Object.entries(env ?? {})) {
    if (value.includes('\0'))
      problems.push({ path: `${at}.${name}`, message: 'contains NUL; an environment value cannot' });
  }
}

/** The longest step id a step's matrix expands to (`name[k=v,…]`), without expanding it. */
function longestStepId(name: string, matrix: Record<string, string[]> | undefined): number {
  const axes = Object.entries(matrix ?? {});
  if (axes.length === 0) return name.length;
  const longest = axes.reduce(
    (n, [key, values]) => n + key.length + 1 + Math.max(0, ...values.map((v) => v.length)),
    0,
  );
  return name.length + 2 + longest + (axes.length - 1);
}

/** The problems of a schema-valid job that would only show when a build of it runs. */
export function limitProblems(job: JobConfig): Problem[] {
  const problems: Problem[] = [];
  envProblems(job.env, 'env', problems);
  if (job.repository?.ref !== undefined) {
    const why = refProblem(job.repository.ref);
    if (why) problems.push({ path: 'repository.ref', message: why });
  }
  job.steps.forEach((step, i) => {
    const at = `steps[${i}]`;
    envProblems(step.env, `${at}.env`, problems);
    if (step.type === 'git-checkout' && step.ref !== undefined) {
      const why = refProblem(step.ref);
      if (why) problems.push({ path: `${at}.ref`, message: why });
    }
    if (step.type === 'exec-shell') {
      const length = longestStepId(step.name, step.matrix);
      if (length > MAX_SEGMENT_LENGTH) {
        problems.push({
          path: `${at}.matrix`,
          message: `names a step id of ${length} characters (name[key=value,…]); at most ${MAX_SEGMENT_LENGTH}: use shorter keys or values`,
        });
      }
    }
    if (step.type === 'publish-artifacts' || step.type === 'copy-artifacts') {
      step.paths.forEach((p, j) => {
        const why = pathProblem(p, true);
        if (why) problems.push({ path: `${at}.paths[${j}]`, message: why });
      });
    }
    if (step.type === 'copy-artifacts' && step.into !== undefined && step.into !== '.') {
      const into = step.into.startsWith('/') ? step.into : step.into.replace(/\/+$/, '');
      const why = pathProblem(into, false);
      if (why) problems.push({ path: `${at}.into`, message: why });
    }
  });
  return problems;
}
