/**
 * The exec-shell kind with real `sh` processes and real object stores: a directory store in a temp dir
 * for most tests, the test run's Ceph RGW for the 50 MB log. Each test drives the kind through a
 * hand-built `StepContext` (`exec-shell-context.ts`) and reads its log back from the store.
 *
 * Process-group tests never sleep: the script writes its PIDs to a temp file and renames it into place,
 * the test watches the workspace for that name, then stops the step and checks every PID is gone.
 *
 * Steps run in the real bubblewrap sandbox where it works (`isolated`), like a worker's. The
 * process-group tests run `unisolated`: they check the pids the script prints, which are the host's
 * only outside a PID namespace; their sandboxed counterparts are in `exec-shell-sandbox.test.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, watch, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  blobKeys,
  type Claim,
  decodeJson,
  openDistci,
  readBlob,
  type StepPayload,
  type StepState,
  saveJob,
  triggerBuild,
} from '@distci/common';
import { createEmbeddedStore } from '@distci/store-embedded';
import { createS3BlobStore } from '@distci/store-s3';
import { loadServices, tempBlobStore, uniqueName } from '@distci/testkit';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { createConfigCache } from '../../src/control/config-cache.js';
import { createExecShellKind, KILL_GRACE_MS, shellEnv } from '../../src/kinds/exec-shell.js';
import { liveGroupMembers } from '../../src/kinds/process-group.js';
import { detectSandbox } from '../../src/kinds/sandbox.js';
import { LOG_BACKLOG_LIMIT } from '../../src/kinds/step-output.js';
import { createStepHandler, type StepRunResult } from '../../src/steps/index.js';
import { type ShellStepOptions, shellStep } from './exec-shell-context.js';

const check = await detectSandbox();
if (!check.ok) t.comment(`bubblewrap does not work here (${check.why}): steps run unisolated`);
const sandbox = check.ok ? check.sandbox : null;
/** The kind as a worker runs it: in the sandbox (where bubblewrap works). */
const isolated = createExecShellKind({ sandbox });
/** The kind without a sandbox (`--isolation none`): its processes have the host's pids. */
const unisolated = createExecShellKind({ sandbox: null });

/** Runs a step to its end (in the sandbox unless told); returns the result and the whole log. */
async function runStep(t: Test, options: Omit<ShellStepOptions, 'blob'> & { blob?: BlobStore }, kind = isolated) {
  const step = await shellStep(t, { blob: options.blob ?? (await tempBlobStore(t, 'test-blobs')), ...options });
  const result = await kind.run(step.ctx);
  await step.closeLog();
  const chunks = await step.chunks();
  return { step, result, chunks, log: Buffer.concat(chunks).toString('utf8') };
}

/** Whether `pid` is gone: no such process, or a zombie (dead, waiting for PID 1 to reap it). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Resolves when `dir/name` exists (watching the directory; never polling), or rejects if `running` ends first. */
async function fileAppears(dir: string, name: string, running: Promise<unknown>): Promise<void> {
  const ac = new AbortController();
  const watcher = watch(dir, { signal: ac.signal });
  const appeared = (async () => {
    try {
      if (existsSync(join(dir, name))) return;
      for await (const event of watcher) if (event.filename === name && existsSync(join(dir, name))) return;
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  if (existsSync(join(dir, name))) {
    ac.abort();
    return;
  }
  try {
    await Promise.race([
      appeared,
      running.then(() => Promise.reject(new Error(`the step ended before it wrote ${name}`))),
    ]);
  } finally {
    ac.abort();
  }
}

/**
 * A script that starts background children (a sleep, a subshell with its own sleep) and waits. It
 * writes `pids` (its own pid, the process group's id, first) once all of them run; the subshell hands
 * its sleep's pid over a FIFO, so nothing is appended after the file appears.
 */
const FAMILY = `
mkfifo inner
sleep 1000 &
outer=$!
( sleep 1000 & echo $! > inner; wait ) &
subshell=$!
read sleeper < inner
printf '%s\\n' $$ $outer $subshell $sleeper > pids.tmp
mv pids.tmp pids
echo started
wait
`;

/** Starts `run`, waits for its `pids` file, returns the PIDs (the shell's first) and the running step. */
async function startFamily(t: Test, run: string, kind = unisolated) {
  const step = await shellStep(t, { blob: await tempBlobStore(t, 'test-blobs'), run });
  const running = kind.run(step.ctx);
  await fileAppears(step.dir, 'pids', running);
  const pids = (await readFile(join(step.dir, 'pids'), 'utf8')).trim().split('\n').map(Number);
  // Teardown safety net: a failed assertion must not leave sleeps behind.
  t.teardown(() => {
    for (const pid of pids) if (!gone(pid)) process.kill(pid, 'SIGKILL');
  });
  return { step, running, pids, pgid: pids[0]! };
}

async function assertGroupGone(t: Test, pids: number[], pgid: number) {
  t.same(await liveGroupMembers(pgid), [], 'no live process is left in the step’s process group');
  t.same(
    pids.filter((pid) => !gone(pid)),
    [],
    `every process the script started is gone (${pids.join(', ')})`,
  );
}

t.test('a script that exits 0 is a success; its output is the log', async (t) => {
  const { result, log } = await runStep(t, { run: 'echo hello\nprintf "no newline"' });
  t.match(result, { status: 'success', exitCode: 0, workspace: 'changed' });
  t.match(log, /^hello\nno newline\n\[distci\] exit code 0 after \d+\.\d{3} s\n$/);
});

t.test('a failing script: its exit code, reason exit-code, stdout and stderr in the log', async (t) => {
  const { result, log } = await runStep(t, { run: 'echo to-stdout\necho to-stderr >&2\nexit 3' });
  t.match(result, { status: 'failure', exitCode: 3, reason: 'exit-code', workspace: 'changed' });
  t.match(result.message, /exited with code 3/);
  t.match(log, /to-stdout\n/);
  t.match(log, /to-stderr\n/);
  t.match(log, /\[distci\] exit code 3 after/);

  const errexit = await runStep(t, { run: 'echo before\nfalse\necho not-reached' });
  t.match(errexit.result, { status: 'failure', exitCode: 1 }, 'sh -e: the first failing command ends the script');
  t.notMatch(errexit.log, /not-reached/);
});

t.test(
  'the script sees the step env, DISTCI_* and matrix values, and only a safe part of the worker env',
  async (t) => {
    process.env.DISTCI_TEST_WORKER_ONLY = 'leak';
    t.teardown(() => {
      delete process.env.DISTCI_TEST_WORKER_ONLY;
    });
    const { step, result } = await runStep(t, {
      env: { FROM_JOB: 'job-value', SHARED: 'job' },
      step: { env: { FROM_STEP: 'step-value', SHARED: 'step' }, matrix: { cc: ['gcc', 'clang'], os: ['linux'] } },
      planned: 1,
      commit: 'c0ffee0000000000000000000000000000000000',
      run: 'env > env.txt',
    });
    t.equal(result.status, 'success');
    const env = Object.fromEntries(
      (await readFile(join(step.dir, 'env.txt'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    t.match(env, {
      DISTCI_JOB: step.ctx.payload.job,
      DISTCI_BUILD: '7',
      DISTCI_STEP: 'sh[cc=clang,os=linux]',
      DISTCI_COMMIT: 'c0ffee0000000000000000000000000000000000',
      DISTCI_REF: 'main',
      CI: 'true',
      cc: 'clang',
      os: 'linux',
      FROM_JOB: 'job-value',
      FROM_STEP: 'step-value',
      SHARED: 'step',
      PATH: process.env.PATH,
    });
    t.notOk('DISTCI_TEST_WORKER_ONLY' in env, 'the worker’s own variables stay out');

    t.same(shellEnv({ PATH: '/step/bin' }, { PATH: '/usr/bin', HOME: '/h', LC_ALL: 'C', AWS_SECRET_ACCESS_KEY: 'x' }), {
      PATH: '/step/bin',
      HOME: '/h',
      LC_ALL: 'C',
    });
    t.match(shellEnv({}, {}), { PATH: /\/usr\/bin/ }, 'a worker without PATH still gives steps one');
  },
);

t.test('the workspace is the cwd, and what the script writes there stays', async (t) => {
  const blob = await tempBlobStore(t, 'test-blobs');
  const step = await shellStep(t, {
    blob,
    run: 'pwd > where\ncat restored.txt > copy.txt\nmkdir -p out && echo built > out/app',
  });
  await writeFile(join(step.dir, 'restored.txt'), 'from the needs\n');
  const result = await isolated.run(step.ctx);
  await step.closeLog();
  t.equal(result.status, 'success');
  t.equal((await readFile(join(step.dir, 'where'), 'utf8')).trim(), await realpath(step.dir));
  t.equal(await readFile(join(step.dir, 'copy.txt'), 'utf8'), 'from the needs\n');
  t.equal(await readFile(join(step.dir, 'out', 'app'), 'utf8'), 'built\n');
});

t.test('a timeout kills the whole process group', async (t) => {
  const { step, running, pids, pgid } = await startFamily(t, FAMILY);
  for (const pid of pids) t.equal(pgidOf(pid), pgid, `pid ${pid} is in the step's process group`);
  const stoppedAt = performance.now();
  step.stop('timeout');
  const result: StepRunResult = await running;
  const ms = performance.now() - stoppedAt;
  await step.closeLog();
  await assertGroupGone(t, pids, pgid);
  t.match(result, { status: 'failure', exitCode: 143 }, 'sh died of SIGTERM: 128 + 15');
  t.ok(ms < KILL_GRACE_MS, `no SIGKILL was needed: the group was gone ${ms.toFixed(0)} ms after SIGTERM`);
  const log = Buffer.concat(await step.chunks()).toString();
  t.match(log, /\[distci\] stopping the step \(timeout\): SIGTERM to its processes, SIGKILL after 5 s\n/);
  t.match(log, /\[distci\] sh was killed by SIGTERM \(exit code 143\)/);
});

t.test('a cancel kills the group; processes that ignore SIGTERM get SIGKILL after the grace', async (t) => {
  const graceMs = 300;
  const kind = createExecShellKind({ killGraceMs: graceMs, sandbox: null });
  const stubborn = `trap '' TERM\n${FAMILY}`; // ignored signals are inherited: every sleep ignores SIGTERM
  const { step, running, pids, pgid } = await startFamily(t, stubborn, kind);
  const stoppedAt = performance.now();
  step.stop('cancelled');
  const result = await running;
  const ms = performance.now() - stoppedAt;
  await step.closeLog();
  await assertGroupGone(t, pids, pgid);
  t.match(result, { status: 'failure', exitCode: 137 }, 'sh died of SIGKILL: 128 + 9');
  t.ok(ms >= graceMs, `SIGKILL came after the ${graceMs} ms grace (${ms.toFixed(0)} ms)`);
  const log = Buffer.concat(await step.chunks()).toString();
  t.match(log, /\[distci\] stopping the step \(cancelled\)/);
  t.match(log, /\[distci\] SIGKILL to 4 process\(es\) still running 0\.3 s after SIGTERM/);
});

t.test('through the step handler: a step timeout ends the whole group and is recorded as a timeout', async (t) => {
  const blob = await tempBlobStore(t, 'test-blobs');
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  // The workspace is removed when the handler returns, so the script leaves its PIDs outside it.
  const outside = await mkdtemp(join(tmpdir(), 'distci-test-pids-'));
  t.teardown(() => rm(outside, { recursive: true, force: true }));
  const run = FAMILY.replace('> pids.tmp\nmv pids.tmp pids', '> "$PIDS_DIR/pids"');
  const stored = await saveJob(store, blob, {
    name: uniqueName('job'),
    env: { PIDS_DIR: outside },
    steps: [{ name: 'sh', type: 'exec-shell', run, timeout: '1s' }],
  });
  const job = stored.config.name;
  const build = await triggerBuild(store, { job, config: stored.version, trigger: { type: 'manual' }, ref: null });
  const payload: StepPayload = {
    job,
    build,
    step: 'sh',
    index: 0,
    config: stored.version,
    ref: null,
    commit: null,
    workspaces: [],
    matrix: null,
    deadline: null,
    upstream: null,
  };
  const handler = createStepHandler({
    kind: unisolated, // the script leaves its pids outside the workspace, and reads them as the host's
    distci: openDistci({ store, blob }),
    configs: createConfigCache(blob),
    workerId: 'test-worker',
  });
  // Only what the step handler reads of a claim.
  const claim = { ticket: { data: { payload, attempt: 1 } }, attempt: 1 } as unknown as Claim;
  const outcome = await handler.run({ claim, store, signal: new AbortController().signal });
  t.equal(outcome.status, 'fail');
  const op = outcome.ops?.[0] as { data: Buffer } | undefined;
  const state = decodeJson<StepState>(op!.data);
  t.match(state, { status: 'failure', reason: 'timeout', message: 'the step timed out', exitCode: 143 });
  t.ok(state.finishedAt! - state.startedAt! < 1000 + KILL_GRACE_MS, 'stopped at the timeout, without SIGKILL');
  const pids = (await readFile(join(outside, 'pids'), 'utf8')).trim().split('\n').map(Number);
  t.teardown(() => {
    for (const pid of pids) if (!gone(pid)) process.kill(pid, 'SIGKILL');
  });
  await assertGroupGone(t, pids, pids[0]!);
  const log = Buffer.concat(
    await Promise.all(
      Array.from({ length: state.logChunks ?? 0 }, (_, i) => readBlob(blob, blobKeys.logChunk(job, build, 'sh', 1, i))),
    ),
  ).toString();
  t.match(log, /started\n\[distci\] stopping the step \(timeout\)/);
});

t.test('background processes a successful script leaves behind are ended too', async (t) => {
  // The leftover sleep holds the output pipe open: the step must not wait for it.
  const { step, result, log } = await runStep(t, { run: 'sleep 1000 &\necho $! > leftover\necho done' }, unisolated);
  const pid = Number((await readFile(join(step.dir, 'leftover'), 'utf8')).trim());
  t.teardown(() => {
    if (!gone(pid)) process.kill(pid, 'SIGKILL');
  });
  t.match(result, { status: 'success', exitCode: 0 });
  t.ok(gone(pid), `the leftover sleep (pid ${pid}) is gone`);
  t.match(log, new RegExp(`done\\n\\[distci\\] the script left 1 process\\(es\\) running \\(pids ${pid}\\): SIGTERM`));
});

t.test('a process that leaves the group (setsid) cannot hold the step open', async (t) => {
  // The documented limit: it escapes the kill, but the kind closes its end of the pipe and returns.
  const { step, result, log } = await runStep(
    t,
    {
      run: "setsid sh -c 'echo $$ > escaped.tmp; mv escaped.tmp escaped; exec sleep 1000' &\nwhile [ ! -e escaped ]; do :; done",
    },
    unisolated,
  );
  const pid = Number((await readFile(join(step.dir, 'escaped'), 'utf8')).trim());
  t.teardown(() => {
    if (!gone(pid)) process.kill(pid, 'SIGKILL');
  });
  t.equal(result.status, 'success');
  t.match(log, /\[distci\] the output is still open by a process outside the step \(setsid\?\): closing it/);
});

t.test('a 50 MB log arrives intact in the real object store (Ceph RGW)', async (t) => {
  const { s3 } = loadServices();
  const blob = createS3BlobStore({ ...s3, prefix: `${uniqueName('exec-shell')}/` });
  t.teardown(() => blob.close());
  const size = 50 * 1024 * 1024;
  // base64 lines of random bytes: text, like a real build log, and incompressible.
  const text = Buffer.from(
    randomBytes((size / 4) * 3)
      .toString('base64')
      .replace(/(.{76})/g, '$1\n'),
  ).subarray(0, size);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const step = await shellStep(t, { blob, run: 'cat big.txt' });
  await writeFile(join(step.dir, 'big.txt'), text);

  // Watch the log's backlog after every write: the output must pause while the store is behind.
  let peak = 0;
  const log = step.ctx.log;
  step.ctx.log = Object.assign(Object.create(log) as typeof log, {
    write(data: Buffer | string) {
      log.write(data);
      peak = Math.max(peak, log.backlog ?? 0);
    },
  });
  const startedAt = performance.now();
  const result = await isolated.run(step.ctx);
  const chunkCount = await step.closeLog();
  const stepMs = performance.now() - startedAt;
  t.equal(result.status, 'success');
  // One pipe read (64 KiB) past the limit at most, before the pause takes effect.
  t.ok(peak <= LOG_BACKLOG_LIMIT + 64 * 1024, `the log's backlog peaked at ${(peak / 2 ** 20).toFixed(1)} MiB`);
  const chunks = await step.chunks();
  t.equal(chunks.length, chunkCount, 'every chunk the writer wrote is listed');
  const stored = Buffer.concat(chunks);
  t.equal(sha(stored.subarray(0, size)), sha(text), 'the 50 MB of output arrived byte for byte');
  t.match(stored.subarray(size).toString(), /^\n\[distci\] exit code 0 after \d+\.\d{3} s\n$/);

  // The same output through sh alone, read from a pipe and thrown away.
  const shStart = performance.now();
  const alone = execa('sh', ['-e', '-c', 'cat big.txt'], { cwd: step.dir, buffer: false, encoding: 'buffer' });
  alone.stdout.resume();
  await alone;
  const shMs = performance.now() - shStart;
  t.comment(
    `50 MiB step: ${stepMs.toFixed(0)} ms through exec-shell to RGW (${chunks.length} chunks, ` +
      `${(((size / 1024 / 1024) * 1000) / stepMs).toFixed(0)} MiB/s, log backlog peak ${(peak / 2 ** 20).toFixed(1)} MiB); sh alone into a pipe: ${shMs.toFixed(0)} ms`,
  );
});

t.test('UTF-8 split across writes and chunks: every chunk decodes on its own', async (t) => {
  // 😀 is F0 9F 98 80: written in two halves by two printf processes (a fork apart, so mostly two reads),
  // then é€😀 by the builtin; the 7-byte chunks cut almost every flush inside a character.
  const run = `i=0
while [ $i -lt 100 ]; do
  env printf '\\360\\237'
  env printf '\\230\\200'
  printf 'é€😀|'
  i=$((i + 1))
done`;
  const { result, chunks, log } = await runStep(t, { run, chunkBytes: 7, flushMs: 5 });
  t.equal(result.status, 'success');
  t.ok(chunks.length > 50, `${chunks.length} chunks`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const bad = chunks.filter((c) => {
    try {
      return decoder.decode(c).includes('\uFFFD');
    } catch {
      return true;
    }
  });
  t.equal(bad.length, 0, 'no chunk ends or starts inside a character');
  t.equal(log.replace(/\n\[distci\].*\n$/, ''), '😀é€😀|'.repeat(100));
});

t.test('secrets are masked even when split across writes and chunks', async (t) => {
  const kind = createExecShellKind({ secrets: (ctx) => [ctx.env.TOKEN ?? ''], sandbox });
  const { result, log } = await runStep(
    t,
    {
      env: { TOKEN: 's3cr3t-t0ken' },
      run: 'echo "token=$TOKEN"\nprintf "s3cr"\nprintf "3t-t0"\nprintf "ken and s3cr3t"\necho',
      chunkBytes: 5,
      flushMs: 5,
    },
    kind,
  );
  t.equal(result.status, 'success');
  t.notMatch(log, /s3cr3t-t0ken/);
  t.match(log, /^token=\*\*\*\n\*\*\* and s3cr3t\n\[distci\] exit code 0/);
});

t.test(
  'a shell that cannot start is an infrastructure failure; a step stopped before it starts runs nothing',
  async (t) => {
    // Unisolated: in the sandbox, bwrap reports a missing shell as the script's exit code 1.
    const missing = createExecShellKind({ shell: '/nonexistent/sh', sandbox: null });
    const { result, log } = await runStep(t, { run: 'echo hi' }, missing);
    t.match(result, { status: 'failure', reason: 'infrastructure', workspace: 'unchanged' });
    t.match(log, /\[distci\] could not start \/nonexistent\/sh/);

    const step = await shellStep(t, { blob: await tempBlobStore(t, 'test-blobs'), run: 'touch ran' });
    step.stop('cancelled');
    t.match(await isolated.run(step.ctx), { status: 'failure', workspace: 'unchanged' });
    await step.closeLog();
    t.notOk(existsSync(join(step.dir, 'ran')));
  },
);
