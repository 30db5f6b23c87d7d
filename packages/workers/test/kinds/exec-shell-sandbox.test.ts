/**
 * The exec-shell kind in its bubblewrap sandbox (`kinds/sandbox.ts`), with real `bwrap` and `sh`
 * processes: what a step can see (its workspace, an empty home, its own /proc; not the worker's
 * environment, files or data dir) and that stopping or ending a step ends every process inside.
 *
 * Processes inside a PID namespace have other pids there than on the host, so the tests find them
 * on the host by a marker in their command line (`sleep <random>`), never by the pids the script
 * prints. bubblewrap is required (`.ci/run` installs it): the file fails where it does not work.
 */
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, watch, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDistciError } from '@distci/common';
import { pidsWithMarker, tempBlobStore, waitFor } from '@distci/testkit';
import t, { type Test } from 'tap';
import { createExecShellKind } from '../../src/kinds/exec-shell.js';
import { detectSandbox, resolveIsolation, STEP_HOME } from '../../src/kinds/sandbox.js';
import type { StepKind } from '../../src/steps/index.js';
import { type ShellStepOptions, shellStep } from './exec-shell-context.js';

const check = await detectSandbox();
if (!check.ok) throw new Error(`bubblewrap does not work here: ${check.why} (apt-get install bubblewrap)`);
const sandboxed = createExecShellKind({ sandbox: check.sandbox });

async function runStep(t: Test, options: Omit<ShellStepOptions, 'blob'>, kind: StepKind = sandboxed) {
  const step = await shellStep(t, { blob: await tempBlobStore(t, 'test-blobs'), ...options });
  const result = await kind.run(step.ctx);
  await step.closeLog();
  return { step, result, log: Buffer.concat(await step.chunks()).toString('utf8') };
}

/** A `sleep` duration no other process uses: the marker of one test's processes. */
const marker = () => `${randomInt(100000, 999999)}.${randomInt(100000, 999999)}`;

/** Resolves when `dir/name` exists (a watch, no polling), or rejects if `running` ends first. */
async function fileAppears(dir: string, name: string, running: Promise<unknown>): Promise<void> {
  const ac = new AbortController();
  const watcher = watch(dir, { signal: ac.signal });
  const appeared = (async () => {
    try {
      for await (const event of watcher) if (event.filename === name && existsSync(join(dir, name))) return;
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  try {
    if (existsSync(join(dir, name))) return;
    await Promise.race([appeared, running.then(() => Promise.reject(new Error(`the step ended before ${name}`)))]);
  } finally {
    ac.abort();
  }
}

/** Background sleeps (one in a subshell, one in its own session), then `ready` in the workspace. */
const family = (m: string) => `
sleep ${m} &
( sleep ${m} & wait ) &
setsid sleep ${m} &
echo started
touch ready
wait
`;

t.test('a step runs in its workspace, with an empty home and a private /tmp', async (t) => {
  const hostTmp = await mkdtemp(join(tmpdir(), 'distci-test-host-'));
  t.teardown(() => rm(hostTmp, { recursive: true, force: true }));
  await writeFile(join(hostTmp, 'secret'), 'host file\n');
  const { step, result, log } = await runStep(t, {
    run: [
      'pwd > where',
      'echo "$HOME" > home',
      'ls -A "$HOME" | wc -l > home-entries',
      'touch "$HOME/ok" /tmp/ok',
      `test -e ${hostTmp}/secret && echo host-tmp-visible || echo host-tmp-hidden`,
      'echo out; echo err >&2',
    ].join('\n'),
  });
  t.match(result, { status: 'success', exitCode: 0 }, log);
  t.equal((await readFile(join(step.dir, 'where'), 'utf8')).trim(), await realpath(step.dir));
  t.equal((await readFile(join(step.dir, 'home'), 'utf8')).trim(), STEP_HOME);
  t.equal((await readFile(join(step.dir, 'home-entries'), 'utf8')).trim(), '0', 'the home starts empty');
  t.match(log, /host-tmp-hidden\n/, "the host's /tmp is not the step's");
  t.match(log, /out\nerr\n|err\nout\n/);
});

t.test("the worker's environment, /proc and files are out of reach", async (t) => {
  const canary = `canary-${marker()}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'distci-test-data-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  await writeFile(join(dataDir, 'token'), `${canary}-token\n`);
  // /proc/<pid>/environ shows a process's environment as it started: a variable set here reaches only
  // children. The worker-process test (packages/cli/test/step-isolation.test.ts) covers /proc.
  process.env.DISTCI_CANARY = canary;
  process.env.DISTCI_DATA_DIR = dataDir;
  t.teardown(() => {
    delete process.env.DISTCI_CANARY;
    delete process.env.DISTCI_DATA_DIR;
  });
  const step = await shellStep(t, {
    blob: await tempBlobStore(t, 'test-blobs'),
    run: [
      // Every process the step can see, its environment and command line; then the data dir. The
      // canary comes from a file: on grep's command line it would find itself in /proc.
      `{ env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline; } 2>/dev/null | tr '\\0' '\\n' | grep -c -f canary || true`,
      `grep -rs -f canary ${dataDir} /etc /usr/local 2>/dev/null | wc -l`,
      `ls ${dataDir} 2>&1 || true`,
      'ls /proc | grep -c "^[0-9]"',
    ].join('\n'),
  });
  await writeFile(join(step.dir, 'canary'), `${canary}\n`);
  const result = await sandboxed.run(step.ctx);
  await step.closeLog();
  const log = Buffer.concat(await step.chunks()).toString('utf8');
  t.equal(result.status, 'success', log);
  t.notMatch(log, new RegExp(canary), 'no canary, no token in the log');
  const lines = log.split('\n');
  t.equal(lines[0], '0', 'no process the step sees has the canary in its environment or command line');
  t.equal(lines[1], '0', 'no file the step sees holds the canary');
  t.match(lines[2], /No such file or directory/, 'the data dir is not mounted');
  t.ok(Number(lines[3]) <= 6, `the step's /proc lists only the sandbox's processes (${lines[3]})`);
});

t.test('a stop ends every process in the sandbox, setsid ones too', async (t) => {
  const m = marker();
  const step = await shellStep(t, { blob: await tempBlobStore(t, 'test-blobs'), run: family(m) });
  t.teardown(() => {
    for (const pid of pidsWithMarker(m)) process.kill(pid, 'SIGKILL');
  });
  const running = sandboxed.run(step.ctx);
  await fileAppears(step.dir, 'ready', running);
  // `touch ready` may run before the subshell's sleep has started (a busy machine): wait for all three.
  await waitFor('three sleeps', () => pidsWithMarker(m).length === 3, 10_000);
  t.equal(pidsWithMarker(m).length, 3, 'three sleeps run');
  step.stop('timeout');
  const result = await running;
  await step.closeLog();
  t.match(result, { status: 'failure', exitCode: 143 }, 'the shell died of SIGTERM: 128 + 15');
  t.same(pidsWithMarker(m), [], 'no process of the step is left');
  const log = Buffer.concat(await step.chunks()).toString();
  t.match(log, /started\n\[distci\] stopping the step \(timeout\)/);
});

t.test('processes that ignore SIGTERM get SIGKILL after the grace', async (t) => {
  const graceMs = 300;
  const kind = createExecShellKind({ sandbox: check.sandbox, killGraceMs: graceMs });
  const m = marker();
  const step = await shellStep(t, { blob: await tempBlobStore(t, 'test-blobs'), run: `trap '' TERM\n${family(m)}` });
  t.teardown(() => {
    for (const pid of pidsWithMarker(m)) process.kill(pid, 'SIGKILL');
  });
  const running = kind.run(step.ctx);
  await fileAppears(step.dir, 'ready', running);
  const stoppedAt = performance.now();
  step.stop('cancelled');
  const result = await running;
  const ms = performance.now() - stoppedAt;
  await step.closeLog();
  t.match(result, { status: 'failure', exitCode: 137 }, 'the shell died of SIGKILL: 128 + 9');
  t.ok(ms >= graceMs, `SIGKILL came after the ${graceMs} ms grace (${ms.toFixed(0)} ms)`);
  t.same(pidsWithMarker(m), [], 'no process of the step is left');
  t.match(
    Buffer.concat(await step.chunks()).toString(),
    /\[distci\] SIGKILL to \d+ process\(es\) still running 0\.3 s/,
  );
});

t.test('processes a successful script leaves behind end with it', async (t) => {
  const m = marker();
  t.teardown(() => {
    for (const pid of pidsWithMarker(m)) process.kill(pid, 'SIGKILL');
  });
  const { result, log } = await runStep(t, { run: `sleep ${m} &\nsetsid sleep ${m} &\necho done` });
  t.match(result, { status: 'success', exitCode: 0 }, log);
  t.same(pidsWithMarker(m), [], 'the leftover sleeps are gone');
});

t.test('the network is kept: a step reaches a server on the loopback', async (t) => {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => res.end('pong\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as { port: number };
  // No curl needed: bash's /dev/tcp, as sh has none.
  const { result, log } = await runStep(t, {
    run: `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}; printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3' | tail -n 1`,
  });
  t.equal(result.status, 'success', log);
  t.match(log, /^pong\n/);
});

t.test('isolation none runs steps as plain processes of the worker', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'distci-test-data-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  await writeFile(join(dataDir, 'token'), 'the-token\n');
  const run = `cat ${dataDir}/token\ntr '\\0' '\\n' < /proc/$PPID/cmdline | grep -c node`;
  const none = await runStep(t, { run }, createExecShellKind({ sandbox: (await resolveIsolation('none')).sandbox }));
  t.equal(none.result.status, 'success', none.log);
  t.match(none.log, /^the-token\n[1-9]\d*\n/, "without the sandbox the step reads the worker's files and /proc");
  const isolated = await runStep(t, { run });
  t.match(isolated.result, { status: 'failure', exitCode: 1 });
  t.match(isolated.log, /No such file or directory/, 'in the sandbox it cannot');
});

t.test('resolveIsolation: bwrap needs a working bubblewrap, auto warns, none needs nothing', async (t) => {
  const missing = join(await mkdtemp(join(tmpdir(), 'distci-test-nobwrap-')), 'bwrap');
  t.teardown(() => rm(join(missing, '..'), { recursive: true, force: true }));
  const err = await resolveIsolation('bwrap', missing).catch((e: unknown) => e);
  t.ok(isDistciError(err, 'DISTCI_NO_SANDBOX'), 'DISTCI_NO_SANDBOX');
  t.match(err, { message: /is not installed/, hint: /--isolation none/ });
  const auto = await resolveIsolation('auto', missing);
  t.equal(auto.sandbox, null);
  t.match(auto.warning, /steps are NOT isolated/);
  // A bwrap that exists but cannot run the sandbox: refused the same way, with its error.
  const broken = join(missing, '..', 'broken');
  await mkdir(broken);
  const fake = join(broken, 'bwrap');
  await writeFile(fake, '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n', {
    mode: 0o755,
  });
  await t.rejects(resolveIsolation('bwrap', fake), { code: 'DISTCI_NO_SANDBOX', message: /No permissions/ });
  t.same(await resolveIsolation('none', missing), { sandbox: null });
  t.ok((await resolveIsolation('bwrap')).sandbox, 'the real bubblewrap works here');
});
