/** The demo's repositories: real git repositories of `jobs/repos/*`, the same commit on every run. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { createDemoRepos, withDemoRepository } from '../../src/demo/demo-repos.js';
import { repoRoot, tempDir } from '../helpers/cli-process.js';

t.test('one repository per sample, stable commits, job URLs rewritten', async (t) => {
  const dir = await tempDir(t);
  const sources = join(repoRoot, 'jobs', 'repos');
  const first = await createDemoRepos(sources, join(dir, 'a'));
  const second = await createDemoRepos(sources, join(dir, 'b'));
  t.same([...first.keys()], ['app', 'lib', 'pipeline']);
  for (const [name, repo] of first) {
    t.equal(second.get(name)!.commit, repo.commit, `${name}: same sources, same commit`);
    const head = execFileSync('git', ['ls-remote', repo.url, 'refs/heads/main'], { encoding: 'utf8' });
    t.match(head, new RegExp(`^${repo.commit}\\s+refs/heads/main`), `${name}: git serves main at ${repo.url}`);
  }
  const job = {
    name: 'pipeline',
    repository: { url: 'https://example.invalid/distci-samples/pipeline.git', ref: 'main' },
  };
  t.same(withDemoRepository(job, first), { ...job, repository: { url: first.get('pipeline')!.url, ref: 'main' } });
  const hello = { name: 'hello', steps: [] };
  t.equal(withDemoRepository(hello, first), hello, 'a job without a repository is unchanged');
});
