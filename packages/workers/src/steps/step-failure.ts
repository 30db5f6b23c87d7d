/**
 * What a step that could not run says, and whether another attempt could help (issue 13, hole 4: an
 * unreachable git host, a refused workspace entry and a key the store refused were all retried three
 * times in half a second and reported as "the step's worker was lost 2 times").
 *
 * | error | class | result |
 * |---|---|---|
 * | a distci error of the request's own (status 4xx: a bad path or key, an option, a ticket too large, a missing object) | permanent | the step fails at once, reason `infrastructure`, the error's message |
 * | a file-system error no retry changes (ENAMETOOLONG, ENOTDIR, EISDIR, ELOOP, EINVAL, EACCES, EPERM, EROFS) | permanent | the same, with the path |
 * | anything else (the stores failing, the network, ENOSPC, a crash of our own) | transient | thrown: the runtime releases the ticket and retries; giving up says the last message |
 */
import { coerceError, ERROR_CODES, isDistciError, type Ticket } from '@distci/common';

const PERMANENT_ERRNO = new Set(['ENAMETOOLONG', 'ENOTDIR', 'EISDIR', 'ELOOP', 'EINVAL', 'EACCES', 'EPERM', 'EROFS']);

export interface StepFailure {
  permanent: boolean;
  message: string;
}

export function classifyStepFailure(err: unknown): StepFailure {
  const e = coerceError(err);
  if (isDistciError(err)) {
    const status = typeof err.status === 'number' ? err.status : ERROR_CODES[err.code].status;
    return {
      permanent: status >= 400 && status < 500 && err.code !== 'DISTCI_CLAIM_LOST',
      message: `${err.code}: ${e.message}`,
    };
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  // Node's fs messages name the path: "ENAMETOOLONG: name too long, open '/tmp/…'".
  if (typeof code === 'string' && PERMANENT_ERRNO.has(code)) return { permanent: true, message: e.message };
  return { permanent: false, message: e.message };
}

/** The message of a step ticket that gave up: why each attempt ended, the last error's words. */
export function exhaustedMessage(ticket: Ticket): string {
  const { lost, failures = 0, error } = ticket.data;
  const vanished = lost - failures;
  const times = (n: number) => (n === 1 ? '1 time' : `${n} times`);
  const workers = vanished > 0 ? `the step's worker was lost ${times(vanished)} (crash, partition or expiry)` : '';
  if (failures === 0 || error === undefined) return workers;
  const failed = `the step could not run (${times(failures)}; the last error: ${error})`;
  return workers ? `${failed}; ${workers}` : failed;
}
