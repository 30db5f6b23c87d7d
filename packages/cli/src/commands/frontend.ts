/**
 * `distci frontend`: one stateless frontend of a cluster (start as many as you like, behind a load
 * balancer): the API, webhooks, live logs and the dashboard, on ZooKeeper + S3. SIGTERM closes it:
 * open requests finish, then its session and clients close. Tokens come from `DISTCI_TOKENS` /
 * `DISTCI_TOKENS_FILE` (docs/configuration.md). The body is in `daemons/run-frontend.ts`.
 */
import type { Command } from 'commander';
import { addStorageOptions } from '../storage-flags.js';

export function frontendCommand(program: Command): void {
  addStorageOptions(
    program
      .command('frontend')
      .summary('run one frontend daemon (cluster)')
      .description('Runs one stateless frontend: the HTTP API, webhooks, live logs and the dashboard.')
      .option('--port <port>', 'HTTP port; 0 picks a free one (env DISTCI_PORT; default 8080)')
      .option('--host <host>', 'address to listen on (env DISTCI_HOST; default 127.0.0.1)')
      .option('--tokens-file <file>', 'API tokens, one a line (env DISTCI_TOKENS_FILE; or DISTCI_TOKENS=a,b)')
      .option('--secrets-key-file <file>', 'the key that seals secrets (env DISTCI_SECRETS_KEY_FILE; mode 0600)')
      .option('--public-url <url>', 'the URL people reach it at, for `url` fields (env DISTCI_PUBLIC_URL)')
      .option(
        '--log-level <level>',
        'request log (stdout): fatal … trace, silent; its own lines (stderr) stay at info (env DISTCI_LOG_LEVEL; default info)',
      )
      .option('--json', 'log its own lines (stderr) as JSON lines too, as the request log is')
      .option(
        '--allow-local-repositories',
        'accept jobs whose repository is a local path or file:// URL (env DISTCI_ALLOW_LOCAL_REPOSITORIES)',
      ),
  ).action(async (opts: Record<string, string | boolean | undefined>) => {
    const { runFrontend } = await import('../daemons/run-frontend.js');
    await runFrontend(opts);
  });
}
