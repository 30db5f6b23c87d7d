/** Declared params: reserved names refused at save, triggers checked against the declaration. */
import t from 'tap';
import { paramEnv, resolveParams } from '../../src/jobs/job-params.js';
import { validateJob } from '../../src/jobs/validate-job.js';

const job = (extra: Record<string, unknown>) => ({
  name: 'j',
  steps: [{ name: 's', type: 'exec-shell', run: 'true' }],
  ...extra,
});

t.test('reserved names are refused as params and secrets', async (t) => {
  for (const name of ['PATH', 'LD_PRELOAD', 'HOME', 'DISTCI_JOB', 'path', 'GIT_SSH_COMMAND']) {
    const r = validateJob(job({ params: { [name]: {} } }));
    t.notOk(r.ok, name);
    if (!r.ok) t.match(r.problems[0], { path: `params.${name}`, message: /would change how the step runs/ });
  }
  const s = validateJob(job({ secrets: ['LD_LIBRARY_PATH'] }));
  t.notOk(s.ok);
  t.ok(validateJob(job({ params: { TARGET: { default: 'a', choices: ['a', 'b'] } }, secrets: ['NPM_TOKEN'] })).ok);
  const d = validateJob(job({ params: { TARGET: { default: 'c', choices: ['a', 'b'] } } }));
  t.notOk(d.ok, 'a default outside the choices');
});

t.test('a trigger is checked against the declaration and gets the defaults', async (t) => {
  const r = validateJob(job({ params: { TARGET: { default: 'staging', choices: ['staging', 'prod'] }, V: {} } }));
  if (!r.ok) throw new Error('valid');
  t.same(resolveParams(r.job, { V: '1' }), { TARGET: 'staging', V: '1' });
  t.throws(() => resolveParams(r.job, { V: '1', NOPE: 'x' }), {
    code: 'DISTCI_INVALID_PARAMS',
    message: /params\.NOPE: job 'j' declares no param 'NOPE'; params are: TARGET, V/,
  });
  t.throws(() => resolveParams(r.job, { V: '1', TARGET: 'qa' }), { message: /choices are: staging, prod/ });
  t.throws(() => resolveParams(r.job, {}), { message: /params\.V: is required/ });
  t.same(paramEnv(r.job, {}), { TARGET: 'staging', V: '' });
});
