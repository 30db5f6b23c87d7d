import { webJob } from '@distci/testkit';
import t from 'tap';
import { parseDuration } from '../../src/jobs/duration.js';
import { planBuild } from '../../src/jobs/plan-build.js';
import { parseJob } from '../../src/jobs/validate-job.js';

t.test('a matrix expands to one step per combination, and needs follow', async (t) => {
  const plan = planBuild(parseJob(webJob));
  t.same(
    plan.map((s) => [s.id, s.needs]),
    [
      ['checkout', []],
      ['deps', ['checkout']],
      ['test[cc=gcc]', ['deps']],
      ['test[cc=clang]', ['deps']],
      ['publish', ['test[cc=gcc]', 'test[cc=clang]']],
    ],
  );
  const gcc = plan[2]!;
  t.same(gcc.env, { CI: 'true', cc: 'gcc' });
  t.same(gcc.matrix, { cc: 'gcc' });
  t.same(gcc.labels, ['linux']);
  t.equal(gcc.timeoutMs, 600_000);
  t.equal(plan[0]!.timeoutMs, null);
});

t.test('a 2×2 matrix is 4 steps; the plan is deterministic', async (t) => {
  const job = parseJob({
    name: 'm',
    steps: [{ name: 'build', type: 'exec-shell', run: 'x', matrix: { os: ['linux', 'mac'], cc: ['gcc', 'clang'] } }],
  });
  const ids = planBuild(job).map((s) => s.id);
  t.same(ids, ['build[os=linux,cc=gcc]', 'build[os=linux,cc=clang]', 'build[os=mac,cc=gcc]', 'build[os=mac,cc=clang]']);
  t.same(planBuild(job), planBuild(job));
});

t.test('durations', async (t) => {
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('2m5s'), 125_000);
  for (const bad of ['', '10', 'm', '1d', '1 h', '5sm'])
    t.throws(() => parseDuration(bad), { code: 'DISTCI_INVALID_JOB' }, bad);
});
