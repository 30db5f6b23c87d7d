/**
 * Issue 13, hole 7: the temp dirs of a killed worker process are removed when a worker starts on the
 * host — only those: a live process's, another name's, and a link are left alone. A real child process
 * makes its root and is SIGKILLed mid-"step".
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { sweepWorkRoots } from '../../src/steps/work-dirs.js';
import { startTestCluster } from '../helpers/cluster.js';
import { tempDir } from '../helpers/step-context.js';

/** A pid that ran and exited (a process that is gone). */
async function deadPid(): Promise<number> {
  const child = execFile('true');
  const pid = child.pid!;
  await once(child, 'exit');
  return pid;
}

t.test('a worker start removes the temp dirs a SIGKILLed worker left behind', async (t) => {
  // A "worker" that makes its work root with a workspace in it, then is killed.
  const code = `
    const { workRoot } = await import(${JSON.stringify(new URL('../../src/steps/work-dirs.ts', import.meta.url).href)});
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const root = await workRoot();
    const ws = await mkdtemp(root + '/distci-ws-');
    await writeFile(ws + '/node_modules.tar', 'x'.repeat(100000));
    console.log(root);
    setInterval(() => {}, 1000);`;
  const child = spawn(
    process.execPath,
    ['--import=tsx', '--conditions=distci-source', '--input-type=module', '-e', code],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const left = line.toString().trim();
  t.ok(existsSync(left), `the killed worker's root exists: ${left}`);
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.ok(existsSync(left), 'and stays after the kill');

  await startTestCluster(t, { 'exec-shell': 1 });
  t.notOk(existsSync(left), 'a worker start removed it');
});

t.test('the sweep removes only dead processes’ roots of this user', async (t) => {
  const base = await tempDir(t, 'distci-sweep-');
  const dead = join(base, `distci-work-${await deadPid()}-abcdef`);
  const live = join(base, `distci-work-${process.pid}-ghijkl`);
  const other = join(base, 'distci-ws-keepme');
  const target = await tempDir(t, 'distci-target-');
  const link = join(base, `distci-work-${await deadPid()}-linkzz`);
  for (const dir of [dead, live, other]) await mkdir(join(dir, 'x'), { recursive: true });
  await writeFile(join(target, 'precious'), 'keep');
  await symlink(target, link);
  t.same(await sweepWorkRoots(base), [dead]);
  t.notOk(existsSync(dead), 'the dead pid’s root is gone');
  for (const kept of [live, other, link, join(target, 'precious')]) t.ok(existsSync(kept), `kept ${kept}`);
  t.same(await sweepWorkRoots(join(tmpdir(), 'distci-no-such-dir')), [], 'a missing base is nothing to do');
});
