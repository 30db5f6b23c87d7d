/**
 * Issue 13, hole 4: a step that fails says what failed. On real ZooKeeper + Ceph RGW with in-process
 * workers: a venv's absolute symlink passes from one step to the next; an unreachable git host ends the
 * step with git's own words (not "the step's worker was lost"); a path the object store cannot key
 * fails the step at once (one attempt) with the path; a local repository is refused by a worker that
 * does not allow them.
 */
import type { BuildRecord } from '@distci/common';
import { freePort } from '@distci/testkit';
import t from 'tap';
import { ONE_OF_EACH, startTestCluster } from './helpers/cluster.js';

const stepOf = (record: BuildRecord, id: string) => {
  const step = record.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id} in ${JSON.stringify(record)}`);
  return step;
};

t.test('step failures tell their cause', async (t) => {
  const c = await startTestCluster(t, { ...ONE_OF_EACH, 'copy-artifacts': 0 });

  t.test("a venv's absolute symlink travels to the next step as it is", async (t) => {
    await c.push({
      name: 'venv',
      steps: [
        {
          name: 'make',
          type: 'exec-shell',
          run: 'mkdir -p venv/bin && ln -s /usr/bin/python3 venv/bin/python && ln -s "$PWD/venv/bin" venv/abs && echo ok > venv/bin/x',
        },
        {
          name: 'use',
          type: 'exec-shell',
          needs: ['make'],
          run: 'test "$(readlink venv/bin/python)" = /usr/bin/python3 && test -L venv/abs && cat venv/bin/x',
        },
      ],
    });
    const record = await c.finished('venv', await c.trigger('venv'));
    t.equal(record.status, 'success', JSON.stringify(record.steps));
  });

  t.test("an unreachable git host: the step's message is git's, not a lost worker", async (t) => {
    const url = `http://127.0.0.1:${await freePort()}/repo.git`;
    await c.push({ name: 'offline', repository: { url }, steps: [{ name: 'checkout', type: 'git-checkout' }] });
    const record = await c.finished('offline', await c.trigger('offline'));
    const step = stepOf(record, 'checkout');
    t.equal(step.status, 'failure');
    t.match(step.message, /could not reach .*127\.0\.0\.1.*(refused|connect)/i, step.message ?? '');
    t.notMatch(step.message, /worker was lost/);
  });

  t.test('a path longer than an object key fails the step at once, naming it', async (t) => {
    const deep = Array.from({ length: 6 }, (_, i) => `${i}${'d'.repeat(199)}`).join('/');
    await c.push({
      name: 'longkey',
      steps: [
        { name: 'make', type: 'exec-shell', run: `mkdir -p ${deep} && echo x > ${deep}/f.txt` },
        { name: 'publish', type: 'publish-artifacts', paths: ['**/*.txt'], needs: ['make'] },
      ],
    });
    const record = await c.finished('longkey', await c.trigger('longkey'));
    const step = stepOf(record, 'publish');
    t.equal(step.status, 'failure');
    t.equal(step.attempt, 1, 'one attempt: a retry cannot help');
    t.match(step.message, /longer than 1024 bytes/);
    t.match(step.message, /0ddd/, 'names the path');
  });

  t.test('a worker that does not allow local repositories refuses one saved anyway', async (t) => {
    const before = process.env.DISTCI_ALLOW_LOCAL_REPOSITORIES;
    process.env.DISTCI_ALLOW_LOCAL_REPOSITORIES = 'false';
    t.teardown(() => {
      process.env.DISTCI_ALLOW_LOCAL_REPOSITORIES = before;
    });
    await c.push({
      name: 'local',
      repository: { url: '/var/lib/distci/git-cache/x.git' },
      steps: [{ name: 'checkout', type: 'git-checkout' }],
    });
    const record = await c.finished('local', await c.trigger('local'));
    t.equal(stepOf(record, 'checkout').status, 'failure');
    t.match(stepOf(record, 'checkout').message, /local path.*DISTCI_ALLOW_LOCAL_REPOSITORIES/);
  });
});
