import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, webJob } from '@distci/testkit';
import t from 'tap';
import { jobSchema } from '../../src/jobs/job-schema.js';
import { parseJob, validateJob } from '../../src/jobs/validate-job.js';

const problemsOf = (input: unknown) => {
  const r = validateJob(input);
  return r.ok ? [] : r.problems;
};

t.test('the contract job is valid, and validation does not modify its input', async (t) => {
  const before = JSON.stringify(webJob);
  const job = parseJob(webJob);
  t.equal(job.name, 'web');
  t.equal(JSON.stringify(webJob), before, 'input untouched');
  t.same(
    validateJob({ name: 'bare', steps: [{ name: 'hi', type: 'exec-shell', run: 'echo hi' }] }).ok,
    true,
    'no repository is fine',
  );
});

t.test('every problem is reported with its JSON path and what to do', async (t) => {
  const bad = structuredClone(webJob) as Record<string, unknown> & { steps: Array<Record<string, unknown>> };
  bad.steps[2]!.needs = ['dep'];
  t.same(problemsOf(bad), [
    { path: 'steps[2].needs', message: "no step named 'dep'; steps are: checkout, deps, test, publish" },
  ]);

  t.match(problemsOf({ name: 'x', steps: [{ name: 'a', type: 'exec' }] }), [
    { path: 'steps[0].type', message: /is not a step type; types are: git-checkout, exec-shell/ },
  ]);
  t.match(problemsOf({ name: 'x', steps: [{ name: 'a', type: 'exec-shell', runn: 'x' }] }), [
    { path: 'steps[0].run', message: 'is required' },
    { path: 'steps[0].runn', message: /not a known field/ },
  ]);
  t.match(problemsOf({ name: 'Bad Name', steps: [] }), [
    { path: 'name', message: /must match/ },
    { path: 'steps', message: /fewer than 1/ },
  ]);
  t.match(problemsOf({ name: 'x', timeout: '10 minutes', steps: [{ name: 'a', type: 'exec-shell', run: 'x' }] }), [
    { path: 'timeout', message: /not a duration/ },
  ]);
  t.match(problemsOf(undefined), [{ path: '', message: /must be object/ }]);
  t.match(problemsOf([]), [{ path: '', message: /must be object/ }]);
});

t.test('duplicates, self-needs, cycles and a checkout without a repository are refused', async (t) => {
  const step = (name: string, needs: string[] = []) => ({ name, type: 'exec-shell', run: 'true', needs });
  t.match(problemsOf({ name: 'x', steps: [step('a'), step('a')] }), [
    { path: 'steps[1].name', message: "'a' is also the name of steps[0]; names must be unique" },
  ]);
  t.match(problemsOf({ name: 'x', steps: [step('a', ['a'])] }), [
    { path: 'steps[0].needs', message: /cannot need itself/ },
  ]);
  t.match(problemsOf({ name: 'x', steps: [step('a', ['c']), step('b', ['a']), step('c', ['b'])] }), [
    { path: 'steps', message: 'needs form a cycle: a → c → b → a; remove one of these needs' },
  ]);
  t.match(problemsOf({ name: 'x', steps: [{ name: 'co', type: 'git-checkout' }] }), [
    { path: 'steps[0]', message: /needs the job's repository/ },
  ]);
  const big = {
    name: 'x',
    steps: [
      { name: 'm', type: 'exec-shell', run: 'x', matrix: { a: [...'abcdefghijklmnopq'], b: [...'abcdefghijklmnopq'] } },
    ],
  };
  t.match(problemsOf(big), [{ path: 'steps[0].matrix', message: /expands to 289 steps; at most 256/ }]);
});

t.test('parseJob throws DISTCI_INVALID_JOB carrying every problem', async (t) => {
  t.throws(() => parseJob({ name: 'x', steps: [{ name: 'a', type: 'nope' }, { name: 'b' }] }), {
    code: 'DISTCI_INVALID_JOB',
    status: 400,
    details: { problems: [{ path: 'steps[0].type' }, { path: 'steps[1].type' }] },
  });
});

t.test('the published schema file equals the schema in code', async (t) => {
  const published = JSON.parse(readFileSync(join(repoRoot, 'docs/job-config.schema.json'), 'utf8'));
  t.same(
    published,
    JSON.parse(JSON.stringify(jobSchema)),
    'run `npm run schema` to regenerate docs/job-config.schema.json',
  );
});
