/**
 * Errors the CLI prints and exits with. Every message says what happened and what to do; API errors
 * keep the server's stable `code` (`DISTCI_…`), printed before the message, so a script can match it.
 *
 * Exit codes: 1 a failed build or a failed request, 2 bad usage or options, 3 the API could not be
 * reached. Errors are recognized by `code`, never by `instanceof`. This module imports nothing heavy:
 * client commands load only what they use (`@distci/common` pulls in the ZooKeeper and S3 clients).
 */

export const EXIT = { failure: 1, usage: 2, unreachable: 3 } as const;

export class CliError extends Error {
  readonly exitCode: number;
  /** A distci error code (`DISTCI_…`) when the API (or a local check) gave one. */
  readonly code: string | undefined;
  readonly details: unknown;

  constructor(message: string, options: { exitCode?: number; code?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.code = options.code;
    this.details = options.details;
  }
}

export function cliError(
  message: string,
  options?: { exitCode?: number; code?: string; details?: unknown; cause?: unknown },
): CliError {
  return new CliError(message, options);
}

/** What the CLI prints for an error (one line, plus the problems of an invalid job, one a line). */
export function describeError(err: unknown): { text: string; exitCode: number; code: string | undefined } {
  if (err instanceof CliError) {
    return { text: withDetails(err.code, err.message, err.details), exitCode: err.exitCode, code: err.code };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === 'string' && code.startsWith('DISTCI_')) {
    // A local distci error (a bad option, a locked data dir): its message already says what to do.
    const exitCode = code === 'DISTCI_BAD_OPTION' ? EXIT.usage : EXIT.failure;
    return { text: withDetails(code, err.message, (err as { details?: unknown }).details), exitCode, code };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { text: e.stack ?? e.message, exitCode: EXIT.failure, code: undefined };
}

function withDetails(code: string | undefined, message: string, details: unknown): string {
  const head = code ? `${code}: ${message}` : message;
  const problems = (details as { problems?: unknown } | undefined)?.problems;
  if (!Array.isArray(problems) || problems.length === 0) return head;
  const lines = problems.map((p) => {
    const { path, message: m } = (p ?? {}) as { path?: unknown; message?: unknown };
    return `  ${typeof path === 'string' && path !== '' ? path : '/'}: ${String(m ?? JSON.stringify(p))}`;
  });
  return [head, ...lines].join('\n');
}
