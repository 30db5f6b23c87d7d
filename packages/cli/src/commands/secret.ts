/**
 * `distci secret set NAME [--from-file F] [--jobs p,q]`, `secret list`, `secret rm NAME`: secrets over
 * the API (admin token). A value is read from stdin or a file, never from the command line (argv is
 * visible to every user of the machine in `ps` and lands in shell history); one trailing newline is
 * dropped (`echo "$T" | distci secret set T`). No command ever prints a value: the API has none to give.
 */
import { readFile } from 'node:fs/promises';
import type { SecretInfo } from '@distci/common';
import type { Command } from 'commander';
import { apiPath } from '../api-client.js';
import { cliError, EXIT } from '../cli-error.js';
import { clientContext } from '../client-action.js';
import { addClientOptions } from '../client-options.js';
import { ago, pc, table } from '../output.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw cliError(
      'the value comes from stdin or --from-file, not the terminal: distci secret set NPM_TOKEN < token.txt',
      { exitCode: EXIT.usage },
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Splits `a,b` into patterns; empty means none. */
const list = (raw: string | undefined): string[] | undefined =>
  raw === undefined
    ? undefined
    : raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

export function secretCommand(program: Command): void {
  const secret = program
    .command('secret')
    .summary('set, list and remove secrets (admin token)')
    .description(
      'Secrets reach the exec-shell steps that ask for them ("secrets": ["NAME"] in the job or step) as\n' +
        'environment variables, masked as *** in logs. Values are stored encrypted and never shown again.',
    );

  addClientOptions(
    secret
      .command('set')
      .description('create or replace a secret; the value is read from stdin or --from-file, never argv')
      .argument('<name>', 'like an environment variable: NPM_TOKEN')
      .option('--from-file <file>', 'read the value from this file instead of stdin')
      .option('--jobs <patterns>', 'limit it to jobs matching these patterns (comma-separated; * and ?)'),
  ).action(async (name: string, opts: { fromFile?: string; jobs?: string }, cmd: Command) => {
    const ctx = await clientContext(cmd);
    let value: string;
    try {
      value = opts.fromFile ? await readFile(opts.fromFile, 'utf8') : await readStdin();
    } catch (err) {
      if ((err as { exitCode?: number }).exitCode !== undefined) throw err;
      throw cliError(`cannot read ${opts.fromFile}: ${(err as Error).message}`, { exitCode: EXIT.usage });
    }
    value = value.replace(/\r?\n$/, '');
    if (value === '') throw cliError('the value is empty', { exitCode: EXIT.usage });
    const jobs = list(opts.jobs);
    const info = await ctx.api.json<SecretInfo>('PUT', apiPath('secrets', name), {
      body: { value, ...(jobs ? { jobs } : {}) },
    });
    ctx.print(info, (i) => `${pc.green('set')} ${i.name}${i.jobs ? pc.dim(` (jobs ${i.jobs.join(', ')})`) : ''}`);
  });

  addClientOptions(secret.command('list').description('list secrets: names, scope, when and by whom')).action(
    async (_o, cmd: Command) => {
      const ctx = await clientContext(cmd);
      const { secrets } = await ctx.api.json<{ secrets: SecretInfo[] }>('GET', apiPath('secrets'));
      ctx.print({ secrets }, ({ secrets }) =>
        secrets.length === 0
          ? 'no secrets yet: set one with `distci secret set NAME < file`'
          : table(
              ['NAME', 'JOBS', 'UPDATED', 'BY'],
              secrets.map((s) => [pc.bold(s.name), s.jobs?.join(',') ?? '*', ago(s.updatedAt), s.updatedBy ?? '-']),
            ),
      );
    },
  );

  addClientOptions(secret.command('rm').description('remove a secret').argument('<name>')).action(
    async (name: string, _o, cmd: Command) => {
      const ctx = await clientContext(cmd);
      await ctx.api.json('DELETE', apiPath('secrets', name));
      ctx.print({ secret: name, removed: true }, () => `${pc.yellow('removed')} ${name}`);
    },
  );
}
