import t from 'tap';
import { groupWaiting } from '../../src/builds/concurrency-group.js';
import { groupTemplateProblems, resolveGroup } from '../../src/jobs/concurrency-template.js';
import { validateJob } from '../../src/jobs/validate-job.js';
import { zpaths } from '../../src/keys.js';

const steps = [{ name: 'hi', type: 'exec-shell', run: 'echo hi' }];

t.test('a group template: job and ref replaced, anything else refused when the job is saved', async (t) => {
  t.equal(resolveGroup('deploy-{{ ref }}', { job: 'web', ref: 'refs/heads/main' }), 'deploy-refs/heads/main');
  t.equal(resolveGroup('{{job}}/{{  ref }}', { job: 'web', ref: null }), 'web/', 'no ref: empty');
  t.equal(resolveGroup('fixed', { job: 'web', ref: 'main' }), 'fixed');
  t.same(groupTemplateProblems('deploy-{{ ref }}-{{ job }}'), []);
  t.same(groupTemplateProblems('deploy-{{ branch }}'), ["unknown variable '{{ branch }}'; use {{ job }} or {{ ref }}"]);
  const r = validateJob({ name: 'web', concurrency: { group: 'x-{{ sha }}' }, steps });
  t.same(r.ok ? [] : r.problems, [
    { path: 'concurrency.group', message: "unknown variable '{{ sha }}'; use {{ job }} or {{ ref }}" },
  ]);
  t.equal(validateJob({ name: 'web', concurrency: { group: 'd', cancelInProgress: true }, steps }).ok, true);
  t.equal(validateJob({ name: 'web', concurrency: { group: '' }, steps }).ok, false, 'an empty group is refused');
  t.equal(validateJob({ name: 'web', concurrency: { group: 'd', cancel: true }, steps }).ok, false);
});

t.test('any group name is one znode segment; a waiting build says for which build', async (t) => {
  t.match(zpaths.group('deploy-refs/heads/main'), /^\/groups\/[0-9a-f]{40}$/);
  t.not(zpaths.group('a'), zpaths.group('b'));
  t.equal(zpaths.parseGroupMemberName('m-0000000012'), 12);
  t.equal(zpaths.parseGroupMemberName('x'), null);
  const group = { name: 'deploy-main', cancelInProgress: false, waitingFor: { job: 'web', build: 3 } };
  t.equal(groupWaiting({ job: 'web', status: 'queued', cancel: null, group }), "waiting for #3 of group 'deploy-main'");
  t.equal(
    groupWaiting({ job: 'api', status: 'queued', cancel: null, group: { ...group, cancelInProgress: true } }),
    "waiting for web #3 of group 'deploy-main' to end (cancelled: superseded)",
  );
  t.equal(groupWaiting({ job: 'web', status: 'running', cancel: null, group }), null);
  t.equal(groupWaiting({ job: 'web', status: 'queued', cancel: { at: 1, reason: 'cancelled' }, group }), null);
});
