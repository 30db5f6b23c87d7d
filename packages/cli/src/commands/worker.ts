/**
 * `distci worker <kind> [--labels a,b] [--concurrency N] [--isolation bwrap|none]`: one worker daemon of a cluster, on
 * ZooKeeper + S3 (or the embedded store and a directory on one machine). SIGTERM drains: no new
 * claims, in-flight tickets get the grace period to finish, the rest are released for other workers.
 * The body is in `daemons/run-worker.ts`, loaded only when this command runs.
 */
import type { Command } from 'commander';
import { addStorageOptions } from '../storage-flags.js';

const KINDS = 'control | git-checkout | exec-shell | publish-artifacts | copy-artifacts';

export function workerCommand(program: Command): void {
  addStorageOptions(
    program
      .command('worker')
      .summary('run one worker daemon (cluster)')
      .description(
        'Runs one worker of a kind. SIGTERM drains: in-flight tickets finish within the grace period, the\nrest are released to other workers at once.',
      )
      .argument('<kind>', KINDS)
      .option('--labels <a,b>', 'labels an exec-shell worker advertises (env DISTCI_LABELS)')
      .option('--concurrency <n>', 'tickets run at once (env DISTCI_CONCURRENCY; default 1)')
      .option('--grace-ms <ms>', 'drain grace on SIGTERM (env DISTCI_GRACE_MS; default 30000)')
      .option(
        '--secrets-key-file <file>',
        'the key that opens secrets for exec-shell steps (env DISTCI_SECRETS_KEY_FILE; mode 0600)',
      )
      .option('--worker-id <id>', 'worker id (env DISTCI_WORKER_ID; default <host>-<pid>-<random>)')
      .option(
        '--metrics-port <port>',
        'serve /metrics and /healthz on this port (env DISTCI_METRICS_PORT; default: off)',
      )
      .option('--metrics-host <host>', 'address for --metrics-port (env DISTCI_METRICS_HOST; default 127.0.0.1)')
      .option(
        '--isolation <mode>',
        'exec-shell steps: bwrap (a bubblewrap sandbox; refuses to start without a working one) or none\n(steps see the worker) (env DISTCI_ISOLATION; default bwrap)',
      )
      .option('--json', "log as JSON lines (pino's fields plus worker, kind, ticket, attempt, job, build, step)")
      .option(
        '--log-level <level>',
        'fatal, error, warn, info, debug, trace or silent (env DISTCI_LOG_LEVEL; default info)',
      )
      .option(
        '--allow-local-repositories',
        'git-checkout: check out local paths and file:// URLs (env DISTCI_ALLOW_LOCAL_REPOSITORIES)',
      ),
  ).action(async (kind: string, opts: Record<string, string | boolean | undefined>) => {
    const { runWorker } = await import('../daemons/run-worker.js');
    await runWorker(kind, opts);
  });
}
