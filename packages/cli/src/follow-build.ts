/**
 * Following a build to its end (`build trigger --follow`, `build logs --follow`, the demo): a live step
 * list — a line each time a step starts or ends — with every step's log streamed as it is written,
 * each line prefixed by its step (parallel steps interleave by line, never inside one), then a summary.
 *
 * A build that waits for its concurrency group says so (`⧗ waiting for #1 of group 'deploy-main'`), and
 * a step that waits in its queue says why (`· test queued (waiting: no live exec-shell worker has
 * labels gpu)`), each time the reason changes.
 *
 * `--json` prints newline-delimited JSON instead, one object a line: `{"type":"step","step":…}` on each
 * step change (its status, attempt or `waiting` reason), `{"type":"waiting","waiting":…}` when the
 * build's own `waiting` changes, `{"type":"log","step":…,"attempt":…,"text":…}` per piece of log, and
 * `{"type":"build","build":…}` once at the end.
 *
 * Every log stream opened here ends: by itself when its step's log is complete, or aborted once the
 * build is over and its grace has passed.
 */

import type { BuildView, StepView } from '@distci/common';
import type { ApiClient } from './api-client.js';
import { readStepLog, watchBuild } from './live-api.js';
import { duration, mark, pc, status } from './output.js';
import { renderBuild, stepNote } from './render-build.js';
import { createTextCleaner, terminalMode } from './terminal-text.js';

export interface FollowOptions {
  json: boolean;
  /** Follow one step only: its raw log on stdout, no prefixes. */
  step?: string;
  write?: (text: string) => void;
  /** Log bytes as logged, escape sequences and all (`terminal-text.ts`); default: cleaned for stdout. */
  raw?: boolean;
}

/** 5 s: once the build is over, how long its last log streams may take to deliver their final chunk. */
const LOG_TAIL_MS = 5000;

const PALETTE = [pc.cyan, pc.magenta, pc.blue, pc.yellow, pc.green];
const STEP_FINAL = new Set(['success', 'failure', 'skipped', 'cancelled']);

/** 0 when the build (or the one step followed) succeeded, 1 otherwise. */
export function buildExitCode(view: BuildView, step?: string): number {
  if (step) return view.steps.find((s) => s.id === step)?.status === 'success' ? 0 : 1;
  return view.status === 'success' ? 0 : 1;
}

/**
 * On a terminal, a status line stays under the output: the steps running now, how many are done, the
 * time so far. It is erased before each write and drawn again after (nothing when piped or `--json`).
 */
function createStatusLine(on: boolean, out: (text: string) => void) {
  let enabled = on;
  let text = '';
  let view: BuildView | null = null;
  const t0 = Date.now();
  const render = () => {
    if (!view) return '';
    const running = view.steps.filter((s) => s.status === 'running').map((s) => s.id);
    const done = view.steps.filter((s) => STEP_FINAL.has(s.status)).length;
    const line = `${pc.cyan('●')} ${view.job} #${view.number} ${done}/${view.steps.length} steps done · ${duration(Date.now() - t0)}${running.length ? ` · running ${running.join(', ')}` : ''}`;
    const columns = process.stdout.columns ?? 100;
    return line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line;
  };
  const timer = enabled ? setInterval(() => draw(), 1000) : undefined;
  timer?.unref();
  function clear() {
    if (enabled && text) out('\r\u001b[2K');
    text = '';
  }
  function draw() {
    if (!enabled) return;
    clear();
    text = render();
    if (text) out(text);
  }
  return {
    update(v: BuildView) {
      view = v;
      draw();
    },
    /** Writes `chunk` above the status line. */
    around(chunk: string) {
      if (!enabled) return out(chunk);
      clear();
      out(chunk);
      draw();
    },
    stop() {
      clearInterval(timer);
      clear();
      enabled = false;
    },
  };
}

function createPrinter(options: FollowOptions) {
  const raw = options.write ?? ((text: string) => void process.stdout.write(text));
  const live = !options.json && !options.step && !options.write && process.stdout.isTTY === true;
  const statusLine = createStatusLine(live, raw);
  const write = (text: string) => statusLine.around(text);
  const partial = new Map<string, string>();
  const colours = new Map<string, (s: string) => string>();
  let width = 0;
  const colour = (step: string) => {
    let c = colours.get(step);
    if (!c) {
      c = PALETTE[colours.size % PALETTE.length]!;
      colours.set(step, c);
    }
    return c;
  };
  const prefix = (step: string) => `${colour(step)(step.padEnd(width))} ${pc.dim('│')} `;
  const json = (value: unknown) => write(`${JSON.stringify(value)}\n`);
  // A log may hold sequences that act on the reader's terminal: removed (`terminal-text.ts`).
  const mode = terminalMode(options.raw === true, options.write ? false : process.stdout.isTTY);
  const cleaners = new Map<string, ReturnType<typeof createTextCleaner>>();
  const cleaner = (step: string) => {
    let c = cleaners.get(step);
    if (!c) {
      c = createTextCleaner(mode);
      cleaners.set(step, c);
    }
    return c;
  };
  return {
    steps(view: BuildView) {
      width = Math.min(40, Math.max(width, ...view.steps.map((s) => s.id.length)));
      statusLine.update(view);
    },
    log(step: string, attempt: number, text: string) {
      if (options.json) return json({ type: 'log', step, attempt, text });
      const clean = cleaner(step).push(text);
      if (options.step) return write(clean);
      const lines = ((partial.get(step) ?? '') + clean).split('\n');
      partial.set(step, lines.pop()!);
      for (const line of lines) write(`${prefix(step)}${line}\n`);
    },
    flush(step: string) {
      const held = cleaners.get(step)?.end() ?? '';
      if (held && options.step && !options.json) write(held);
      const rest = (partial.get(step) ?? '') + (options.step ? '' : held);
      partial.delete(step);
      if (rest && !options.json && !options.step) write(`${prefix(step)}${rest}\n`);
    },
    /** The build waits for its concurrency group (or no longer does: `waiting` null). */
    waiting(waiting: string | null) {
      if (options.json) return json({ type: 'waiting', waiting });
      if (options.step || !waiting) return;
      write(`${pc.yellow('⧗')} ${waiting}\n`);
    },
    change(s: StepView) {
      if (options.json) return json({ type: 'step', step: s });
      if (options.step) return;
      if (s.status === 'queued' && s.waiting) {
        write(`${mark(s.status)} ${pc.bold(s.id)} queued ${pc.dim(`(waiting: ${s.waiting})`)}\n`);
      } else if (s.status === 'running') {
        const where = [s.worker ? `on ${s.worker}` : null, s.attempt && s.attempt > 1 ? `attempt ${s.attempt}` : null];
        write(`${mark(s.status)} ${pc.bold(s.id)} started ${pc.dim(where.filter(Boolean).join(', '))}\n`);
      } else if (STEP_FINAL.has(s.status)) {
        const took = s.finishedAt && s.startedAt ? ` in ${duration(s.finishedAt - s.startedAt)}` : '';
        const note = stepNote(s);
        write(`${mark(s.status)} ${pc.bold(s.id)} ${status(s.status)}${took}${note ? pc.dim(` (${note})`) : ''}\n`);
      }
    },
    /** Erases the status line (the follow failed; its error comes next). */
    abort() {
      statusLine.stop();
    },
    end(view: BuildView) {
      statusLine.stop();
      if (options.json) return json({ type: 'build', build: view });
      if (options.step) {
        const s = view.steps.find((x) => x.id === options.step);
        process.stderr.write(`${options.step}: ${status(s?.status ?? 'unknown')}\n`);
        return;
      }
      write(`${pc.dim('─'.repeat(60))}\n${renderBuild(view)}\n`);
    },
  };
}

/** Follows `job` #`n` until it is finished; resolves with its final view. */
export async function followBuild(api: ApiClient, job: string, n: number, options: FollowOptions): Promise<BuildView> {
  const printer = createPrinter(options);
  const controller = new AbortController();
  const streams = new Map<string, Promise<void>>();
  const shown = new Map<string, string>();
  let last: BuildView | undefined;
  let waiting: string | null = null;

  const pump = async (stepId: string) => {
    let attempt: number | null = null;
    try {
      for await (const item of readStepLog(api, job, n, stepId, { follow: true, signal: controller.signal })) {
        if (item.type === 'attempt') {
          if (attempt !== null)
            printer.log(
              stepId,
              item.attempt,
              `\n[distci: attempt ${attempt} was lost; attempt ${item.attempt} follows]\n`,
            );
          attempt = item.attempt;
        } else if (item.type === 'text') {
          printer.log(stepId, item.attempt ?? attempt ?? 0, item.text);
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) {
        printer.log(
          stepId,
          attempt ?? 0,
          `\n[distci: the log of ${stepId} could not be read: ${(err as Error).message}]\n`,
        );
      }
    } finally {
      printer.flush(stepId);
    }
  };

  try {
    for await (const view of watchBuild(api, job, n, controller.signal)) {
      last = view;
      printer.steps(view);
      if ((view.waiting ?? null) !== waiting) {
        waiting = view.waiting ?? null;
        printer.waiting(waiting);
      }
      for (const s of view.steps) {
        if (options.step && s.id !== options.step) continue;
        // One log stream per step, from when it starts (it follows a new attempt by itself). A step that
        // never ran has no log; one copied from an earlier build (a retry) ran there.
        const runs = s.attempt !== null && !s.copiedFrom && (s.status === 'running' || STEP_FINAL.has(s.status));
        if (runs && !streams.has(s.id)) streams.set(s.id, pump(s.id));
        const state = `${s.status}/${s.attempt}/${s.waiting ?? ''}`;
        if (shown.get(s.id) === state) continue;
        shown.set(s.id, state);
        // A step's end is told after the last of its log, so each log sits between its start and end.
        const stream = streams.get(s.id);
        if (STEP_FINAL.has(s.status) && stream)
          streams.set(
            s.id,
            stream.then(() => printer.change(s)),
          );
        else printer.change(s);
      }
    }
    const all = Promise.all(streams.values());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, LOG_TAIL_MS)))]);
    clearTimeout(timer);
  } catch (err) {
    printer.abort();
    throw err;
  } finally {
    controller.abort();
  }
  await Promise.all(streams.values());
  printer.end(last!);
  return last!;
}

/** Prints the log of one step as it is now (its current attempt). */
export async function printStepLog(
  api: ApiClient,
  view: BuildView,
  s: StepView,
  options: { json: boolean; header: boolean; raw?: boolean },
): Promise<void> {
  const write = (text: string) => void process.stdout.write(text);
  const cleaner = createTextCleaner(terminalMode(options.raw === true));
  if (options.header && !options.json) write(`${pc.bold(`── ${s.id}`)} ${status(s.status)}\n`);
  if (s.attempt === null) return;
  const controller = new AbortController();
  let last = '\n';
  for await (const item of readStepLog(api, view.job, view.number, s.id, {
    follow: false,
    signal: controller.signal,
  })) {
    if (item.type !== 'text') continue;
    write(
      options.json
        ? `${JSON.stringify({ type: 'log', step: s.id, attempt: s.attempt, text: item.text })}\n`
        : cleaner.push(item.text),
    );
    last = item.text;
  }
  if (!options.json) write(cleaner.end());
  if (!options.json && options.header && !last.endsWith('\n')) write('\n');
}
