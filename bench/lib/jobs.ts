/** The jobs the bench runs, and a local git repository for the checkout job. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One exec-shell step, no repository: the cheapest build there is. */
export const noopJob = (name = 'bench-noop') => ({
  name,
  steps: [{ name: 'run', type: 'exec-shell', run: 'echo x' }],
});

/** Three exec-shell steps, each needing the previous. */
export const chain3Job = (name = 'bench-chain3') => ({
  name,
  steps: [
    { name: 'a', type: 'exec-shell', run: 'echo a' },
    { name: 'b', type: 'exec-shell', run: 'echo b', needs: ['a'] },
    { name: 'c', type: 'exec-shell', run: 'echo c', needs: ['b'] },
  ],
});

/** A checkout (a cache hit after the first build) and `true` in the checked-out workspace. */
export const checkoutJob = (url: string, name = 'bench-checkout') => ({
  name,
  repository: { url, ref: 'main' },
  steps: [
    { name: 'checkout', type: 'git-checkout' },
    { name: 'run', type: 'exec-shell', run: 'true', needs: ['checkout'] },
  ],
});

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'distci bench',
  GIT_AUTHOR_EMAIL: 'bench@distci.invalid',
  GIT_COMMITTER_NAME: 'distci bench',
  GIT_COMMITTER_EMAIL: 'bench@distci.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** A git repository of 20 small files on `main`, in a temp dir (the caller removes it). */
export function makeRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'distci-bench-repo-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: GIT_ENV, stdio: 'ignore' });
  git('init', '--quiet', '--initial-branch=main');
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, `file-${i}.txt`), `file ${i}\n`.repeat(50));
  git('add', '--all');
  git('commit', '--quiet', '-m', 'bench');
  return dir;
}
