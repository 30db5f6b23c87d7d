/** A plan's size is bounded at save time (issue 13, hole 1): the limit is in the message. */
import t from 'tap';
import { planBuild } from '../../src/jobs/plan-build.js';
import { MAX_PLANNED_STEPS, validateJob } from '../../src/jobs/validate-job.js';

const wide = (steps: number) => ({
  name: 'wide',
  steps: Array.from({ length: steps }, (_, i) => ({
    name: `s${i}`,
    type: 'exec-shell',
    run: 'true',
    matrix: { v: Array.from({ length: 256 }, (_, j) => `v${j}`) },
  })),
});

t.test('16 × 256 = 4,096 planned steps are accepted; 17 × 256 are refused with the limit', async (t) => {
  const ok = validateJob(wide(16));
  t.ok(ok.ok);
  if (ok.ok) t.equal(planBuild(ok.job).length, MAX_PLANNED_STEPS);
  // Before: accepted (each step's matrix was within 256), up to 256 × 256 = 65,536 steps in one build.
  const refused = validateJob(wide(17));
  t.notOk(refused.ok);
  if (!refused.ok) {
    t.same(refused.problems, [
      { path: 'steps', message: 'the plan has 4352 steps (matrices expanded); at most 4096 in one build' },
    ]);
  }
});
