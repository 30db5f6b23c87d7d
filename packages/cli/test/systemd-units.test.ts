/**
 * `systemd-analyze verify` of the units in deploy/systemd: the frontend and the worker template,
 * instantiated for every kind. Any message counts as a failure (an unknown key is only a warning, exit 0).
 *
 * The units run /usr/bin/node, which verify requires to exist and be executable, and nothing else it
 * checks (/opt/distci, /etc/distci and the `distci` user are not looked at). So they are verified inside
 * a temp root (`--root`): the host's own unit directory (for sysinit.target and the other targets the
 * units order against), the units in its /etc/systemd/system, and an executable stub at /usr/bin/node —
 * the same result on a machine whose node lives elsewhere.
 *
 * systemd-analyze missing: skipped on a workstation, a failure in CI (`CI` set).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot, tempDir } from './helpers/cli-process.js';

const KINDS = ['control', 'git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'];
const UNIT_DIRS = ['/usr/lib/systemd/system', '/lib/systemd/system'];

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const unitDir = UNIT_DIRS.find((d) => existsSync(join(d, 'sysinit.target')));
const missing =
  analyze.status !== 0
    ? 'systemd-analyze is not installed (apt-get install -y systemd)'
    : unitDir
      ? null
      : `no systemd unit directory with sysinit.target (${UNIT_DIRS.join(', ')})`;

if (missing) {
  if (process.env.CI) t.fail(`deploy/systemd cannot be verified here: ${missing}`);
  else t.plan(0, missing);
} else {
  /** A root with the host's units, ours, and a stub /usr/bin/node; returns its path. */
  async function makeRoot(dir: string): Promise<string> {
    const root = join(dir, 'root');
    await mkdir(join(root, 'usr', 'lib', 'systemd'), { recursive: true });
    await cp(unitDir!, join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true, verbatimSymlinks: true });
    await mkdir(join(root, 'etc', 'systemd', 'system'), { recursive: true });
    await mkdir(join(root, 'usr', 'bin'), { recursive: true });
    await writeFile(join(root, 'usr', 'bin', 'node'), '#!/bin/sh\n');
    await chmod(join(root, 'usr', 'bin', 'node'), 0o755);
    return root;
  }

  function verify(root: string, units: string[]): { status: number | null; output: string } {
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' },
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  }

  t.test('every unit in deploy/systemd verifies clean', async (t) => {
    const root = await makeRoot(await tempDir(t, 'distci-systemd-'));
    const files = (await readdir(join(repoRoot, 'deploy', 'systemd'))).filter((f) => f.endsWith('.service'));
    t.same(files.sort(), ['distci-frontend.service', 'distci-worker@.service'], 'the units there');
    for (const f of files) await cp(join(repoRoot, 'deploy', 'systemd', f), join(root, 'etc', 'systemd', 'system', f));
    const units = [
      join(root, 'etc', 'systemd', 'system', 'distci-frontend.service'),
      ...KINDS.map((k) => `distci-worker@${k}.service`),
    ];
    const { status, output } = verify(root, units);
    t.equal(output, '', 'systemd-analyze verify says nothing');
    t.equal(status, 0, 'and exits 0');
  });

  t.test('the check catches a broken unit (an unknown key, a missing program)', async (t) => {
    const root = await makeRoot(await tempDir(t, 'distci-systemd-'));
    const unit = join(root, 'etc', 'systemd', 'system', 'broken.service');
    await writeFile(unit, '[Service]\nExecStart=/usr/bin/node x\nRestartSecs=2\n');
    t.match(verify(root, [unit]).output, /Unknown key 'RestartSecs'/);
    await writeFile(unit, '[Service]\nExecStart=/opt/missing/node x\n');
    const missingProgram = verify(root, [unit]);
    t.not(missingProgram.status, 0);
    t.match(missingProgram.output, /is not executable/);
  });
}
