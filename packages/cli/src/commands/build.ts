/**
 * `distci build trigger|list|show|logs|cancel|retry`: builds over the API. `trigger --follow` and
 * `logs --follow` stream the build's logs live and exit with its result: 0 on success, 1 otherwise.
 */

import type { BuildList, BuildView, Triggered } from '@distci/common';
import type { Command } from 'commander';
import { apiPath } from '../api-client.js';
import { cliError, EXIT } from '../cli-error.js';
import { type ClientContext, clientContext } from '../client-action.js';
import { addClientOptions } from '../client-options.js';
import { buildExitCode, followBuild, printStepLog } from '../follow-build.js';
import { ago, duration, pc, status, table } from '../output.js';
import { renderBuild } from '../render-build.js';

function buildNumber(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw cliError(`'${raw}' is not a build number (1, 2, 3…)`, { exitCode: EXIT.usage });
  return n;
}

function collectParam(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw cliError(`--param '${value}' is not K=V`, { exitCode: EXIT.usage });
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

async function follow(ctx: ClientContext, job: string, n: number, step?: string, raw = false): Promise<void> {
  const final = await followBuild(ctx.api, job, n, { json: ctx.options.json, step, raw });
  process.exitCode = buildExitCode(final, step);
}

export function buildCommand(program: Command): void {
  const build = program.command('build').summary('trigger, follow, inspect, cancel and retry builds');

  addClientOptions(
    build
      .command('trigger')
      .description('start a build of a job')
      .argument('<job>')
      .option('--ref <ref>', 'branch, tag or commit to build (default: the job repository ref)')
      .option('--param <K=V>', 'a build parameter (repeatable)', collectParam, {})
      .option('--priority <0-9>', "the build's priority in the queues, 9 the most urgent (default: each step's own, 5)")
      .option('--follow', 'stream the logs live; exit 0 on success, 1 on failure'),
  ).action(
    async (
      job: string,
      opts: { ref?: string; param: Record<string, string>; priority?: string; follow?: boolean },
      cmd: Command,
    ) => {
      const priority = opts.priority === undefined ? undefined : Number(opts.priority);
      if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 9)) {
        throw cliError(`--priority '${opts.priority}' is not 0-9`, { exitCode: EXIT.usage });
      }
      const ctx = await clientContext(cmd);
      const body = {
        ...(opts.ref ? { ref: opts.ref } : {}),
        ...(Object.keys(opts.param).length ? { params: opts.param } : {}),
        ...(priority !== undefined ? { priority } : {}),
      };
      const t = await ctx.api.json<Triggered>('POST', apiPath('jobs', job, 'builds'), { body });
      if (!opts.follow) {
        ctx.print(
          t,
          () =>
            `${pc.bold(`${t.job} #${t.number}`)} queued — follow it: distci build logs ${t.job} ${t.number} --follow`,
        );
        return;
      }
      if (ctx.options.json) process.stdout.write(`${JSON.stringify({ type: 'triggered', ...t })}\n`);
      else process.stdout.write(`${pc.bold(`${t.job} #${t.number}`)} queued\n`);
      await follow(ctx, t.job, t.number);
    },
  );

  addClientOptions(
    build
      .command('list')
      .description("list a job's builds, newest first")
      .argument('<job>')
      .option('--limit <n>', 'how many', '20'),
  ).action(async (job: string, opts: { limit: string }, cmd: Command) => {
    const ctx = await clientContext(cmd);
    const list = await ctx.api.json<BuildList>('GET', apiPath('jobs', job, 'builds'), { query: { limit: opts.limit } });
    ctx.print(list, ({ builds }) =>
      builds.length === 0
        ? `no builds of ${job} yet: distci build trigger ${job}`
        : table(
            ['BUILD', 'STATUS', 'TRIGGER', 'REF', 'CREATED', 'TOOK'],
            builds.map((b) => [
              `#${b.number}`,
              status(b.status),
              b.trigger.type,
              b.ref ?? '',
              ago(b.createdAt),
              b.finishedAt && b.startedAt ? duration(b.finishedAt - b.startedAt) : '',
            ]),
          ),
    );
  });

  addClientOptions(
    build
      .command('show')
      .description('show a build and its steps, and why the build or a queued step waits')
      .argument('<job>')
      .argument('<number>'),
  ).action(async (job: string, n: string, _o, cmd: Command) => {
    const ctx = await clientContext(cmd);
    const view = await ctx.api.json<BuildView>('GET', apiPath('jobs', job, 'builds', buildNumber(n)));
    ctx.print(view, renderBuild);
  });

  addClientOptions(
    build
      .command('logs')
      .description("print a build's logs (every step, or one)")
      .argument('<job>')
      .argument('<number>')
      .option('--step <id>', 'one step (a matrix step is e.g. "test[os=linux]")')
      .option('--follow', 'stream live until the build ends; exit 0 on success, 1 on failure')
      .option(
        '--raw',
        'print escape sequences as logged (default: colours kept on a terminal, every other sequence removed)',
      ),
  ).action(async (job: string, n: string, opts: { step?: string; follow?: boolean; raw?: boolean }, cmd: Command) => {
    const ctx = await clientContext(cmd);
    const number = buildNumber(n);
    if (opts.follow) return follow(ctx, job, number, opts.step, opts.raw === true);
    const view = await ctx.api.json<BuildView>('GET', apiPath('jobs', job, 'builds', number));
    const steps = opts.step ? view.steps.filter((s) => s.id === opts.step) : view.steps;
    if (opts.step && steps.length === 0) {
      throw cliError(
        `build ${job} #${number} has no step '${opts.step}'; steps are: ${view.steps.map((s) => s.id).join(', ')}`,
        {
          code: 'DISTCI_STEP_NOT_FOUND',
        },
      );
    }
    for (const s of steps) {
      await printStepLog(ctx.api, view, s, { json: ctx.options.json, header: !opts.step, raw: opts.raw === true });
    }
  });

  addClientOptions(
    build.command('cancel').description('cancel a running build').argument('<job>').argument('<number>'),
  ).action(async (job: string, n: string, _o, cmd: Command) => {
    const ctx = await clientContext(cmd);
    const number = buildNumber(n);
    const res = await ctx.api.json<unknown>('POST', apiPath('jobs', job, 'builds', number, 'cancel'));
    ctx.print(
      res,
      () => `${pc.yellow('cancelling')} ${job} #${number}: running steps are stopped, waiting ones dropped`,
    );
  });

  addClientOptions(
    build
      .command('retry')
      .description(
        'retry a failed step (a new build re-runs it and the steps that need it), or with --failed every step that did not succeed, in one new build',
      )
      .argument('<job>')
      .argument('<number>')
      .argument('[step]', 'the step id to retry, e.g. test or "test[cc=gcc]" (not with --failed)')
      .option('--failed', 'retry every failed, timed-out, cancelled or skipped step (matrix cells included) at once')
      .option('--follow', 'stream the new build live; exit 0 on success, 1 on failure'),
  ).action(
    async (
      job: string,
      n: string,
      step: string | undefined,
      opts: { failed?: boolean; follow?: boolean },
      cmd: Command,
    ) => {
      if (Boolean(step) === Boolean(opts.failed)) {
        throw cliError('name one step to retry, or pass --failed to retry every step that did not succeed', {
          exitCode: EXIT.usage,
        });
      }
      const ctx = await clientContext(cmd);
      const number = buildNumber(n);
      const t = step
        ? await ctx.api.json<Triggered>('POST', apiPath('jobs', job, 'builds', number, 'steps', step, 'retry'))
        : await ctx.api.json<Triggered>('POST', apiPath('jobs', job, 'builds', number, 'retry'), {
            body: { failed: true },
          });
      if (opts.follow) return follow(ctx, t.job, t.number);
      ctx.print(
        t,
        () =>
          `${pc.bold(`${t.job} #${t.number}`)} queued (retry of #${n} ${step ? `from ${step}` : 'failed steps'}) — distci build logs ${t.job} ${t.number} --follow`,
      );
    },
  );
}
