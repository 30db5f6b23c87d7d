/**
 * `distci token create --role R [--jobs p,q] [--description D]`, `token list`, `token rm ID`: scoped
 * API tokens over the API (admin token). The new token is printed once, by `create`; distci keeps only
 * its sha256. Roles: `read` (GETs), `trigger` (also trigger, cancel, retry builds), `admin`
 * (everything: job configs, secrets, tokens); `--jobs` limits a token to jobs matching the patterns.
 */

import type { TokenInfo } from '@distci/common';
import type { Command } from 'commander';
import { apiPath } from '../api-client.js';
import { cliError, EXIT } from '../cli-error.js';
import { clientContext } from '../client-action.js';
import { addClientOptions } from '../client-options.js';
import { ago, pc, table } from '../output.js';

const ROLES = ['read', 'trigger', 'admin'];

export function tokenCommand(program: Command): void {
  const token = program.command('token').summary('make, list and remove scoped API tokens (admin token)');

  addClientOptions(
    token
      .command('create')
      .description('make a token; it is printed once and cannot be shown again')
      .requiredOption('--role <role>', 'read | trigger (also trigger, cancel, retry) | admin (everything)')
      .option('--jobs <patterns>', 'limit it to jobs matching these patterns (comma-separated; * and ?)')
      .option('--description <text>', 'what the token is for (shown by token list)'),
  ).action(async (opts: { role: string; jobs?: string; description?: string }, cmd: Command) => {
    if (!ROLES.includes(opts.role)) {
      throw cliError(`--role '${opts.role}' is not a role; use ${ROLES.join(', ')}`, { exitCode: EXIT.usage });
    }
    const ctx = await clientContext(cmd);
    const jobs = opts.jobs
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const made = await ctx.api.json<TokenInfo & { token: string }>('POST', apiPath('tokens'), {
      body: {
        role: opts.role,
        ...(jobs?.length ? { jobs } : {}),
        ...(opts.description ? { description: opts.description } : {}),
      },
    });
    ctx.print(
      made,
      (m) =>
        `${m.token}\n${pc.dim(`token ${m.id}, role ${m.role}${m.jobs ? `, jobs ${m.jobs.join(', ')}` : ''}: keep it now, it is not shown again`)}`,
    );
  });

  addClientOptions(token.command('list').description('list tokens: id, role, jobs, description')).action(
    async (_o, cmd: Command) => {
      const ctx = await clientContext(cmd);
      const { tokens } = await ctx.api.json<{ tokens: TokenInfo[] }>('GET', apiPath('tokens'));
      ctx.print({ tokens }, ({ tokens }) =>
        tokens.length === 0
          ? 'no tokens made yet: distci token create --role trigger'
          : table(
              ['ID', 'ROLE', 'JOBS', 'CREATED', 'BY', 'DESCRIPTION'],
              tokens.map((t) => [
                t.id,
                t.role,
                t.jobs?.join(',') ?? '*',
                ago(t.createdAt),
                t.createdBy ?? '-',
                t.description ?? '',
              ]),
            ),
      );
    },
  );

  addClientOptions(token.command('rm').description('remove a token').argument('<id>')).action(
    async (id: string, _o, cmd: Command) => {
      const ctx = await clientContext(cmd);
      await ctx.api.json('DELETE', apiPath('tokens', id));
      ctx.print({ token: id, removed: true }, () => `${pc.yellow('removed')} ${id}`);
    },
  );
}
