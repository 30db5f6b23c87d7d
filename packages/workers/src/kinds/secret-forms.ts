/**
 * The strings to mask in a step's log for the secrets it was given: each value as it is, and as a
 * script most often turns it into before printing it by accident — base64 (`echo -n "$T" | base64`,
 * with and without padding, and its URL-safe alphabet, as in a Basic auth header or a JWT) and URL
 * encoding (`curl --data-urlencode`, a token in a query string). A multi-line value (a PEM key) is
 * also masked line by line, since tools print such values a line at a time.
 */

/** 4: a line shorter than this (an empty line, `--`) would mask ordinary output, not the secret. */
const MIN_LINE = 4;

export function maskedForms(values: readonly string[]): string[] {
  const out = new Set<string>();
  for (const value of values) {
    if (value === '') continue;
    const b64 = Buffer.from(value).toString('base64');
    out.add(value);
    out.add(b64);
    out.add(b64.replace(/=+$/, ''));
    out.add(Buffer.from(value).toString('base64url'));
    out.add(encodeURIComponent(value));
    out.add(encodeURIComponent(value).replace(/%20/g, '+'));
    if (/[\r\n]/.test(value)) {
      for (const line of value.split(/\r?\n/)) if (line.trim().length >= MIN_LINE) out.add(line.trim());
    }
  }
  return [...out].filter((s) => s.length > 0);
}
