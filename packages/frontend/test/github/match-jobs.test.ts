import type { StoredJob } from '@distci/common';
import t from 'tap';
import { buildRequestOf, jobWants } from '../../src/github/match-jobs.js';

const repository = {
  clone_url: 'https://github.com/Octo-Org/Hello-World.git',
  ssh_url: 'git@github.com:Octo-Org/Hello-World.git',
};
const sha = 'b'.repeat(40);

const stored = (
  url: string,
  github: { events?: Array<'push' | 'pull_request'>; branches?: string[]; tags?: string[] } | undefined,
) =>
  ({
    config: { name: 'j', repository: { url }, ...(github ? { triggers: { github } } : {}), steps: [] },
    etag: 'e',
    version: { key: 'k', etag: 'e' },
  }) as unknown as StoredJob;

t.test('buildRequestOf reads push and pull_request payloads', async (t) => {
  t.match(buildRequestOf('push', { ref: 'refs/heads/release/1.2', after: sha, repository, sender: { login: 'me' } }), {
    event: 'push',
    branch: 'release/1.2',
    ref: 'refs/heads/release/1.2',
    commit: sha,
    sender: 'me',
  });
  t.match(buildRequestOf('push', { ref: 'refs/tags/v1.2', after: sha, repository }), {
    tag: 'v1.2',
    ref: 'refs/tags/v1.2',
    commit: sha,
  });
  t.equal(buildRequestOf('push', { ref: 'refs/tags/v1', after: '0'.repeat(40), deleted: true, repository }), null);
  t.equal(buildRequestOf('push', { ref: 'refs/notes/x', after: sha, repository }), null, 'other refs');
  t.equal(buildRequestOf('push', { ref: 'refs/heads/x', after: '0'.repeat(40), deleted: true, repository }), null);
  t.type(buildRequestOf('push', { ref: 'refs/heads/x', after: 'nope', repository }), 'string');
  t.type(buildRequestOf('push', { ref: 'refs/heads/x', after: sha }), 'string', 'no repository');
  t.type(buildRequestOf('push', []), 'string');
  const pr = (action: string) => ({
    action,
    number: 7,
    pull_request: { number: 7, head: { sha, ref: 'topic' }, base: { ref: 'main' } },
    repository,
  });
  t.match(buildRequestOf('pull_request', pr('reopened')), { branch: 'main', ref: 'refs/pull/7/head', commit: sha });
  t.match(buildRequestOf('pull_request', pr('ready_for_review')), { ref: 'refs/pull/7/head' }, 'a draft made ready');
  t.equal(buildRequestOf('pull_request', pr('labeled')), null);
  t.equal(buildRequestOf('workflow_run', {}), null, 'other events ask for nothing');
});

t.test('jobWants: events, repository, branch globs', async (t) => {
  const req = buildRequestOf('push', { ref: 'refs/heads/release/1.2', after: sha, repository });
  if (req === null || typeof req === 'string') throw new Error('no request');
  const url = 'https://github.com/octo-org/hello-world';
  t.ok(jobWants(stored(url, { events: ['push'] }), req));
  t.ok(jobWants(stored(url, { events: ['push'], branches: ['main', 'release/*'] }), req));
  t.ok(jobWants(stored(url, { events: ['push'], branches: ['**'] }), req));
  t.notOk(jobWants(stored(url, { events: ['push'], branches: ['release'] }), req));
  t.notOk(jobWants(stored(url, { events: ['push'], branches: ['*'] }), req), '* stays within a segment');
  t.notOk(jobWants(stored(url, { events: ['pull_request'] }), req));
  t.notOk(jobWants(stored(url, {}), req), 'no events listed: none');
  t.notOk(jobWants(stored(url, undefined), req));
  t.notOk(jobWants(stored('https://github.com/octo-org/other', { events: ['push'] }), req));
});

t.test('jobWants: a tag push builds the jobs whose tags globs match, and no other', async (t) => {
  const req = buildRequestOf('push', { ref: 'refs/tags/v1.2.0', after: sha, repository });
  if (req === null || typeof req === 'string') throw new Error('no request');
  const url = 'https://github.com/octo-org/hello-world';
  t.ok(jobWants(stored(url, { events: ['push'], tags: ['v*'] }), req));
  t.ok(jobWants(stored(url, { events: ['push'], branches: ['main'], tags: ['v1.*'] }), req), 'branches do not apply');
  t.notOk(jobWants(stored(url, { events: ['push'], tags: ['release-*'] }), req));
  t.notOk(jobWants(stored(url, { events: ['push'] }), req), 'no tags listed: no tag builds (as before)');
  t.notOk(jobWants(stored(url, { events: ['push'], branches: ['**'] }), req), 'a branch glob matches no tag');
  t.notOk(jobWants(stored(url, { events: ['pull_request'], tags: ['v*'] }), req));
});
