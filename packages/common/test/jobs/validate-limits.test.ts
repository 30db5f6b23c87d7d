/**
 * Input a build could only fail on later (issue 13, hole 6) is refused when the job is saved, with its
 * JSON path and the limit. Each case went through `validateJob` as valid before validate-limits.ts.
 */
import t from 'tap';
import { validateJob } from '../../src/jobs/validate-job.js';
import { MAX_ARTIFACT_PATH_BYTES, MAX_PATH_SEGMENT_BYTES } from '../../src/jobs/validate-limits.js';

const repo = { url: 'https://example.com/r.git' };
const job = (steps: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'j',
  repository: repo,
  steps,
  ...extra,
});
const shell = (more: Record<string, unknown> = {}) => ({ name: 's', type: 'exec-shell', run: 'true', ...more });
const problemsOf = (input: unknown) => {
  const r = validateJob(input);
  return r.ok ? [] : r.problems;
};

const refused: Array<[string, unknown, string, RegExp]> = [
  ['NUL in a job env value', job([shell()], { env: { A: 'x\u0000y' } }), 'env.A', /NUL/],
  ['NUL in a step env value', job([shell({ env: { B: '\u0000' } })]), 'steps[0].env.B', /NUL/],
  [
    'a repository ref starting with -',
    job([shell()], { repository: { ...repo, ref: '--upload-pack=x' } }),
    'repository.ref',
    /start with '-'/,
  ],
  [
    'a step ref starting with -',
    job([{ name: 'c', type: 'git-checkout', ref: '-x' }]),
    'steps[0].ref',
    /start with '-'/,
  ],
  ['a step ref with a space', job([{ name: 'c', type: 'git-checkout', ref: 'a b' }]), 'steps[0].ref', /whitespace/],
  [
    'into "../x"',
    job([{ name: 'c', type: 'copy-artifacts', from: { job: 'o' }, paths: ['*'], into: '../x' }]),
    'steps[0].into',
    /'\.\.' segment/,
  ],
  [
    'an absolute into',
    job([{ name: 'c', type: 'copy-artifacts', from: { job: 'o' }, paths: ['*'], into: '/etc' }]),
    'steps[0].into',
    /absolute/,
  ],
  [
    'an absolute artifact path',
    job([{ name: 'p', type: 'publish-artifacts', paths: ['/etc/passwd'] }]),
    'steps[0].paths[0]',
    /absolute/,
  ],
  [
    'a .. artifact path',
    job([{ name: 'p', type: 'publish-artifacts', paths: ['dist/../../x'] }]),
    'steps[0].paths[0]',
    /'\.\.' segment/,
  ],
  [
    'a .. copy path',
    job([{ name: 'c', type: 'copy-artifacts', from: { job: 'o' }, paths: ['../x'] }]),
    'steps[0].paths[0]',
    /'\.\.' segment/,
  ],
  [
    'an artifact name longer than a key segment',
    job([{ name: 'p', type: 'publish-artifacts', paths: [`dist/${'a'.repeat(300)}.tgz`] }]),
    'steps[0].paths[0]',
    new RegExp(`segment of 304 bytes .*at most ${MAX_PATH_SEGMENT_BYTES}`),
  ],
  [
    'an artifact path longer than a key',
    job([{ name: 'p', type: 'publish-artifacts', paths: [Array(10).fill('b'.repeat(100)).join('/')] }]),
    'steps[0].paths[0]',
    new RegExp(`1009 bytes; at most ${MAX_ARTIFACT_PATH_BYTES}`),
  ],
  [
    'matrix values that make a step id longer than a key segment',
    job([shell({ matrix: { aaaa: ['x'.repeat(64)], bbbb: ['y'.repeat(64)], cccc: ['z'.repeat(64)] } })]),
    'steps[0].matrix',
    /step id of 212 characters.*at most 200/,
  ],
];

for (const [what, input, path, message] of refused) {
  t.test(`refused at save: ${what}`, async (t) => {
    const problems = problemsOf(input);
    t.match(problems, [{ path, message }], JSON.stringify(problems));
  });
}

t.test('what real jobs use stays valid', async (t) => {
  const ok = job([
    { name: 'c', type: 'git-checkout', ref: 'refs/tags/v1.0' },
    shell({ env: { PATH_X: '/usr/bin:/bin', EMPTY: '' }, matrix: { os: ['linux', 'mac'], py: ['3.11', '3.12'] } }),
    { name: 'p', type: 'publish-artifacts', paths: ['dist/**/*.tgz', '*.txt', './x'] },
    { name: 'cp', type: 'copy-artifacts', from: { job: 'o' }, paths: ['**'], into: 'vendor/lib/' },
    { name: 'cp2', type: 'copy-artifacts', from: { job: 'o' }, paths: ['**'], into: '.' },
  ]);
  t.same(problemsOf(ok), []);
});
