/**
 * The `distci` command tree (commander). Each command lives in `commands/<name>.ts` and registers
 * itself on the program; actions throw `CliError`s, which `run-main.ts` prints and exits with.
 */
import { Command } from 'commander';
import { buildCommand } from './commands/build.js';
import { devCommand } from './commands/dev.js';
import { frontendCommand } from './commands/frontend.js';
import { jobCommand } from './commands/job.js';
import { secretCommand } from './commands/secret.js';
import { storageCommand } from './commands/storage.js';
import { tokenCommand } from './commands/token.js';
import { viewCommands } from './commands/views.js';
import { workerCommand } from './commands/worker.js';

export const VERSION = '0.1.0';

export function createProgram(): Command {
  const program = new Command('distci')
    .description('A masterless distributed CI: stateless frontends, single-purpose workers, ZooKeeper and S3.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      `
Start here:
  npx distci dev --demo            build the samples on this machine and exit with the result
  npx distci dev                   run distci here: http://127.0.0.1:8080, token in .distci/token
  npx distci job push jobs/hello.json && npx distci build trigger hello --follow

Client commands talk to --url (env DISTCI_URL, default http://127.0.0.1:8080) with --token (env
DISTCI_TOKEN; default: the token \`distci dev\` keeps in its data dir); --json prints JSON.`,
    );
  devCommand(program);
  jobCommand(program);
  buildCommand(program);
  viewCommands(program);
  secretCommand(program);
  tokenCommand(program);
  frontendCommand(program);
  workerCommand(program);
  storageCommand(program);
  return program;
}
