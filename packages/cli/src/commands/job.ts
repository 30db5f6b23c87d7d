/**
 * `distci job push FILE…`, `job list`, `job show NAME`, `job rm NAME`: job configs over the API.
 * A push is a create-or-replace (`PUT /api/v1/jobs/<name>`); an invalid config is refused with every
 * problem and its JSON path, and nothing changes (invariant 9).
 */
import { readFile } from 'node:fs/promises';
import type { JobList, StoredJobView } from '@distci/common';
import type { Command } from 'commander';
import { apiPath } from '../api-client.js';
import { CliError, cliError, EXIT } from '../cli-error.js';
import { clientContext } from '../client-action.js';
import { addClientOptions } from '../client-options.js';
import { pc, table } from '../output.js';

/** Reads a job config file: JSON with a `name`. */
export async function readJobFile(file: string): Promise<Record<string, unknown> & { name: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw cliError(`cannot read ${file}: ${(err as Error).message}`, { exitCode: EXIT.usage });
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw cliError(`${file} is not JSON: ${(err as Error).message}`, { exitCode: EXIT.usage });
  }
  const name = (config as { name?: unknown } | null)?.name;
  if (typeof config !== 'object' || config === null || Array.isArray(config) || typeof name !== 'string') {
    throw cliError(`${file} is not a job config: it needs an object with a "name" (docs/job-config.md)`, {
      exitCode: EXIT.usage,
    });
  }
  return config as Record<string, unknown> & { name: string };
}

export function jobCommand(program: Command): void {
  const job = program.command('job').summary('push, list, show and remove job configs');

  addClientOptions(
    job.command('push').description('create or replace jobs from JSON config files').argument('<file...>'),
  ).action(async (files: string[], _o, cmd: Command) => {
    const ctx = await clientContext(cmd);
    const pushed: StoredJobView[] = [];
    for (const file of files) {
      const config = await readJobFile(file);
      try {
        const stored = await ctx.api.json<StoredJobView>('PUT', apiPath('jobs', config.name), { body: config });
        pushed.push(stored);
        ctx.say(`${pc.green('pushed')} ${stored.name} ${pc.dim(`(${file}, version ${stored.version.slice(0, 12)})`)}`);
        // On stderr, also with --json: a credential in env is worth a look whatever reads stdout.
        for (const w of stored.warnings ?? [])
          process.stderr.write(`${pc.yellow('warning')} ${file}: ${w.path} ${w.message}\n`);
      } catch (err) {
        if (err instanceof CliError) {
          throw cliError(`${file}: ${err.message}`, { code: err.code, details: err.details, exitCode: err.exitCode });
        }
        throw err;
      }
    }
    if (ctx.options.json) ctx.print(pushed, () => '');
  });

  addClientOptions(job.command('list').description('list jobs')).action(async (_o, cmd: Command) => {
    const ctx = await clientContext(cmd);
    const jobs: JobList['jobs'] = [];
    let cursor: string | null = null;
    do {
      const page: JobList = await ctx.api.json<JobList>('GET', apiPath('jobs'), {
        query: { cursor: cursor ?? undefined },
      });
      jobs.push(...page.jobs);
      cursor = page.next;
    } while (cursor);
    ctx.print({ jobs }, ({ jobs }) =>
      jobs.length === 0
        ? 'no jobs yet: push one with `distci job push jobs/hello.json`'
        : table(
            ['NAME', 'STEPS', 'REPOSITORY', 'DESCRIPTION'],
            jobs.map((j) => [pc.bold(j.name), String(j.steps), j.repository ?? '-', j.description ?? '']),
          ),
    );
  });

  addClientOptions(job.command('show').description("show a job's config").argument('<name>')).action(
    async (name: string, _o, cmd: Command) => {
      const ctx = await clientContext(cmd);
      const stored = await ctx.api.json<StoredJobView>('GET', apiPath('jobs', name));
      ctx.print(
        stored,
        (s) =>
          `${pc.bold(s.name)} ${pc.dim(`etag ${s.etag}, version ${s.version.slice(0, 12)}`)}\n${JSON.stringify(s.config, null, 2)}`,
      );
    },
  );

  addClientOptions(job.command('rm').description("remove a job's config (its builds stay)").argument('<name>')).action(
    async (name: string, _o, cmd: Command) => {
      const ctx = await clientContext(cmd);
      await ctx.api.json('DELETE', apiPath('jobs', name));
      ctx.print({ job: name, removed: true }, () => `${pc.yellow('removed')} ${name}`);
    },
  );
}
