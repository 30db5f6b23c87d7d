/**
 * `distci dev [--port 8080] [--data-dir .distci] [--demo]`: distci on one machine, in one process
 * (`dev-server.ts`). Prints the URL and the token, then runs until SIGINT/SIGTERM (drain, then close).
 * `--demo` runs the sample build instead (`demo/run-demo.ts`) and exits with its result. The body is in
 * `daemons/run-dev.ts`, loaded only when this command runs.
 */
import type { Command } from 'commander';
import type { DevFlags } from '../daemons/run-dev.js';

export function devCommand(program: Command): void {
  program
    .command('dev')
    .summary('run everything on this machine, in one process')
    .description(
      'Runs a frontend and one worker of every kind in one process, on an embedded coordination store and a\n' +
        'directory as object store under the data dir. State survives a restart. Nothing to install.',
    )
    .option('--port <port>', 'HTTP port; 0 picks a free one (env DISTCI_PORT; default 8080, with --demo a free one)')
    .option('--host <host>', 'address to listen on (env DISTCI_HOST; default 127.0.0.1)')
    .option('--data-dir <dir>', 'where state lives (env DISTCI_DATA_DIR; default .distci)')
    .option('--labels <a,b>', `labels for the exec-shell worker besides ${process.platform},${process.arch}`)
    .option(
      '--isolation <mode>',
      'steps: bwrap (bubblewrap sandbox), none, or auto: bwrap when it works, else none with a warning\n(env DISTCI_ISOLATION; default auto)',
    )
    .option('--demo', 'build the sample jobs against local git repositories, follow the build, exit with its result')
    .option(
      '--log-level <level>',
      'worker events and own lines (default info) and the request log (default warn), on stderr\n(env DISTCI_LOG_LEVEL)',
    )
    .option(
      '--json',
      "log as JSON lines on stderr (pino's fields plus worker, kind, ticket, attempt, job, build, step)",
    )
    .option('--quiet', 'log only worker events that need attention')
    .action(async (opts: DevFlags) => {
      const { runDev } = await import('../daemons/run-dev.js');
      await runDev(opts);
    });
}
