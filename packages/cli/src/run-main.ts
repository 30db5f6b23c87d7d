/**
 * Runs the program on `argv` and turns what it throws into a message and an exit code
 * (`cli-error.ts`): a stack trace is for bugs only, never for a refused request or a bad option.
 */
import { type Command, CommanderError } from 'commander';
import { describeError } from './cli-error.js';
import { pc } from './output.js';
import { createProgram } from './program.js';

/**
 * `exitOverride` on every command: commander copies it only into sub-commands created after the call,
 * so a usage error of `distci build logs` exited 1 (a failed build's code) from inside commander.
 */
function throwOnExit(command: Command): Command {
  command.exitOverride();
  for (const sub of command.commands) throwOnExit(sub);
  return command;
}

export async function runMain(argv: string[]): Promise<void> {
  // `distci build logs … | head`: a reader that went away is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = throwOnExit(createProgram());
  try {
    await program.parseAsync(argv);
    // Exit now: an idle keep-alive socket of fetch must not hold a finished command for seconds.
    process.exit(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed the usage problem (or the help / version) already.
      process.exit(err.exitCode === 1 ? 2 : err.exitCode);
    }
    const { text, exitCode } = describeError(err);
    process.stderr.write(`${pc.red('error')} ${text}\n`);
    process.exit(exitCode);
  }
}
