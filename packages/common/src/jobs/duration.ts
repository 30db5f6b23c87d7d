/** Durations in job configs: `90s`, `30m`, `1h30m`, `500ms` (no spaces; units ms, s, m, h). */
import { distciError } from '../errors.js';

export const DURATION_PATTERN = '^(\\d+h)?(\\d+m(?!s))?(\\d+s)?(\\d+ms)?$';
const UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds of a duration string; throws DISTCI_INVALID_JOB on a malformed or zero one. */
export function parseDuration(text: string, path = 'timeout'): number {
  if (text === '' || !new RegExp(DURATION_PATTERN).test(text)) {
    throw distciError('DISTCI_INVALID_JOB', `${path}: '${text}' is not a duration`, {
      hint: 'write it like 90s, 30m, 1h30m or 500ms',
      details: { problems: [{ path, message: `'${text}' is not a duration; write it like 90s, 30m or 1h30m` }] },
    });
  }
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|h|m|s)/g)) ms += Number(m[1]) * UNITS[m[2]!]!;
  return ms;
}
