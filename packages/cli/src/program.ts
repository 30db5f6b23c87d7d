/**
 * The `distci` command tree (commander). Each command lives in `commands/<name>.ts` and registers
 * itself on the program; actions throw `CliError`s, which `run-main.ts` prints and exits with.
 */
import { Command } from 'commander';

export const VERSION = '0.1.0';

export function createProgram(): Command {
  const program = new Command('distci')
    .description('A masterless distributed CI: stateless frontends, single-purpose workers, ZooKeeper and S3.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  return program;
}
