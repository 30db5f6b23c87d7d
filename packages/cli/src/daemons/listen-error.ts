/** A frontend that cannot listen says why and what to do, instead of a stack trace. */
import { cliError, EXIT } from '../cli-error.js';

export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return cliError(
      `${host}:${port} is in use — stop what listens there, or pick another --port (0 picks a free one)`,
      {
        exitCode: EXIT.usage,
        cause: err,
      },
    );
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return cliError(`cannot listen on ${host}:${port} (${code}) — use another --host or a --port above 1023`, {
      exitCode: EXIT.usage,
      cause: err,
    });
  }
  return err;
}
