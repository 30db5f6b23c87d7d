/**
 * Secret masking for step output: every occurrence of a secret's bytes becomes `***` before the
 * output reaches the log, even when the secret is split across writes (a pipe delivers whatever the
 * kernel had, so a token can arrive as `ghp_ab` + `cdef`), across lines or across log chunks.
 *
 * The masker holds back only the end of the output that could still begin a secret — at most the
 * longest secret's length minus one byte, and only when those bytes really are a secret's prefix — so
 * ordinary output passes straight through. Matching is leftmost, longest at a position, and the result
 * does not depend on how the output was split into writes (the unit test checks this property).
 */
export const SECRET_MASK = '***';
const MASK = Buffer.from(SECRET_MASK);
const EMPTY = Buffer.alloc(0);

export interface SecretMasker {
  /** Masks what was held back plus `chunk`; returns the bytes that are safe to emit now. */
  write(chunk: Buffer | string): Buffer;
  /** Returns the held-back bytes: the output ended, so they cannot complete a secret any more. */
  end(): Buffer;
}

export function createSecretMasker(secrets: readonly string[]): SecretMasker {
  // Longest first, so that at one position the longest secret wins.
  const list = [...new Set(secrets.filter((s) => s.length > 0))]
    .map((s) => Buffer.from(s))
    .sort((a, b) => b.length - a.length);
  const longest = list[0]?.length ?? 0;
  let held = EMPTY;

  /** The first position ≥ from where `data` ends with a proper prefix of a secret, or -1. */
  const partialAt = (data: Buffer, from: number): number => {
    const n = data.length;
    for (let j = Math.max(from, n - longest + 1); j < n; j++) {
      const tail = data.subarray(j);
      for (const s of list) {
        if (s.length > tail.length && s.subarray(0, tail.length).equals(tail)) return j;
      }
    }
    return -1;
  };

  /** Masks `data`; unless `final`, holds back from the first byte that may begin an incomplete secret. */
  const scan = (data: Buffer, final: boolean): Buffer => {
    const out: Buffer[] = [];
    const next = list.map(() => -2); // next occurrence per secret (-2: not searched yet)
    let pos = 0;
    for (;;) {
      let at = -1;
      let len = 0;
      list.forEach((s, i) => {
        if (next[i]! !== -1 && next[i]! < pos) next[i] = data.indexOf(s, pos);
        const found = next[i]!;
        if (found !== -1 && (at === -1 || found < at)) {
          at = found;
          len = s.length;
        }
      });
      // A secret that starts at or before the match but is not complete yet must wait for more bytes.
      const partial = final ? -1 : partialAt(data, pos);
      if (at === -1 || (partial !== -1 && partial <= at)) {
        const keep = partial === -1 ? data.length : partial;
        out.push(data.subarray(pos, keep));
        held = Buffer.from(data.subarray(keep)); // a copy: `data` may be the caller's buffer
        return Buffer.concat(out);
      }
      out.push(data.subarray(pos, at), MASK);
      pos = at + len;
    }
  };

  return {
    write(chunk) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (list.length === 0) return buf;
      return scan(held.length ? Buffer.concat([held, buf]) : buf, false);
    },
    end() {
      // The held bytes cannot complete their secret any more, but may still hold a shorter one.
      return held.length ? scan(held, true) : EMPTY;
    },
  };
}
