/**
 * Real git repositories for the tests: `git init` in a temp dir (removed in teardown), commits made
 * with the git CLI under a fixed identity, so nothing depends on the machine's git config.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { tempDir } from './step-context.js';

const run = promisify(execFile);
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'distci test',
  GIT_AUTHOR_EMAIL: 'test@distci.invalid',
  GIT_COMMITTER_NAME: 'distci test',
  GIT_COMMITTER_EMAIL: 'test@distci.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export interface TestRepo {
  dir: string;
  git(...args: string[]): Promise<string>;
  /** Writes `files` (path → content), commits everything, returns the new commit id. */
  commit(message: string, files: Record<string, string | Buffer>): Promise<string>;
}

export async function testRepo(t: Test, branch = 'main'): Promise<TestRepo> {
  const dir = await tempDir(t, 'distci-repo-');
  const git = async (...args: string[]) =>
    (await run('git', args, { cwd: dir, env: ENV, maxBuffer: 64 << 20 })).stdout.trim();
  await git('init', '--quiet', `--initial-branch=${branch}`);
  return {
    dir,
    git,
    async commit(message, files) {
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
      await git('add', '--all');
      await git('commit', '--quiet', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
  };
}
