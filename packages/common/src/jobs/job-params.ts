/**
 * Build parameters: what a job declares (`params`), what a trigger may pass, and what a step sees.
 *
 * - A declaration's names become environment variables of every step, so a name that would change how
 *   a step runs (its PATH, its dynamic linker, its shell, distci's own variables) is refused when the
 *   job is saved: `RESERVED_ENV_NAMES`, `RESERVED_ENV_PREFIXES`. Secret names follow the same rule.
 * - A trigger's params are checked against the declaration (`resolveParams`): an unknown name, a value
 *   outside `choices`, or a missing param without a default is DISTCI_INVALID_PARAMS (400) naming the
 *   path and what is allowed; declared params it leaves out get their default. The result is what the
 *   build record keeps and `build show` lists.
 * - A step sees every declared param (`paramEnv`): the build's value, else the default, else empty.
 *   Builds triggered without params (a webhook, an `after` trigger) thus see the defaults.
 */
import { distciError } from '../errors.js';
import type { JobConfig } from './job-config.js';

/** A problem with its JSON path (the shape of `validate-job.ts`'s Problem, kept here to avoid a cycle). */
interface Problem {
  path: string;
  message: string;
}

/**
 * Names a param or secret may not have: each changes how the step's shell or its tools start (PATH,
 * HOME, IFS, ENV, BASH_ENV, CDPATH, PS4 run or find code), or is set by distci for the step (CI).
 */
export const RESERVED_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'PWD',
  'OLDPWD',
  'IFS',
  'ENV',
  'BASH_ENV',
  'CDPATH',
  'PS4',
  'TMPDIR',
  'CI',
  'NODE_OPTIONS',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PERL5OPT',
  'RUBYOPT',
];
/** Prefixes of reserved names: the dynamic linker (LD_, DYLD_), git's own settings, distci's variables. */
export const RESERVED_ENV_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'GIT_', 'DISTCI', 'BASH_FUNC_'];

/** Why `name` may not be a param or secret name, or null when it may. */
export function reservedNameReason(name: string): string | null {
  const upper = name.toUpperCase();
  if (RESERVED_ENV_NAMES.includes(upper)) return `'${name}' would change how the step runs; pick another name`;
  const prefix = RESERVED_ENV_PREFIXES.find((p) => upper.startsWith(p));
  if (prefix) return `names starting with ${prefix} would change how the step runs; pick another name`;
  return null;
}

/** Problems of a job's `params` and `secrets` the schema cannot see (reserved names, defaults). */
export function paramProblems(job: JobConfig): Problem[] {
  const problems: Problem[] = [];
  for (const [name, decl] of Object.entries(job.params ?? {})) {
    const reserved = reservedNameReason(name);
    if (reserved) problems.push({ path: `params.${name}`, message: reserved });
    if (decl.choices && decl.default !== undefined && !decl.choices.includes(decl.default)) {
      problems.push({
        path: `params.${name}.default`,
        message: `'${decl.default}' is not one of the choices: ${decl.choices.join(', ')}`,
      });
    }
  }
  const secretLists: Array<[string, string[] | undefined]> = [
    ['secrets', job.secrets],
    ...job.steps.map((s, i): [string, string[] | undefined] => [
      `steps[${i}].secrets`,
      s.type === 'exec-shell' ? s.secrets : undefined,
    ]),
  ];
  for (const [path, names] of secretLists) {
    (names ?? []).forEach((name, i) => {
      const reserved = reservedNameReason(name);
      if (reserved) problems.push({ path: `${path}[${i}]`, message: reserved });
      else if (job.params?.[name]) {
        problems.push({ path: `${path}[${i}]`, message: `'${name}' is also a param; a name is one or the other` });
      }
    });
  }
  return problems;
}

/**
 * The params of a trigger checked against the job's declaration, with the defaults filled in; or
 * DISTCI_INVALID_PARAMS listing every problem (`details.problems`, paths like `params.TARGET`).
 */
export function resolveParams(job: JobConfig, given: Record<string, string>): Record<string, string> {
  const declared = job.params ?? {};
  const names = Object.keys(declared);
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(given)) {
    const decl = declared[name];
    if (!decl) {
      problems.push({
        path: `params.${name}`,
        message: names.length
          ? `job '${job.name}' declares no param '${name}'; params are: ${names.join(', ')}`
          : `job '${job.name}' declares no params; add "params" to its config to accept '${name}'`,
      });
    } else if (decl.choices && !decl.choices.includes(value)) {
      problems.push({
        path: `params.${name}`,
        message: `'${value}' is not allowed; choices are: ${decl.choices.join(', ')}`,
      });
    }
  }
  const out: Record<string, string> = {};
  for (const [name, decl] of Object.entries(declared)) {
    const value = given[name] ?? decl.default;
    if (value === undefined) problems.push({ path: `params.${name}`, message: 'is required (it has no default)' });
    else out[name] = value;
  }
  if (problems.length) {
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw distciError('DISTCI_INVALID_PARAMS', `${first.path}: ${first.message}${more}`, {
      details: { problems, allowed: declared },
    });
  }
  return out;
}

/** The environment a step gets from the build's params: every declared param, by name. */
export function paramEnv(job: JobConfig, params: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, decl] of Object.entries(job.params ?? {})) env[name] = params[name] ?? decl.default ?? '';
  return env;
}
