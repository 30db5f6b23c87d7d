/**
 * The secret masker: examples for the edges (a secret split byte by byte, overlapping and nested
 * secrets, a prefix that never completes), then properties with fast-check — however the output is
 * split into writes, the masked result is the same as masking it whole, and no secret survives.
 */
import fc from 'fast-check';
import t from 'tap';
import { createSecretMasker } from '../../src/kinds/secret-masker.js';

/** Writes `parts` one by one and ends; returns everything the masker emitted. */
function mask(secrets: string[], parts: Array<string | Buffer>): string {
  const masker = createSecretMasker(secrets);
  const out = parts.map((p) => masker.write(p));
  out.push(masker.end());
  return Buffer.concat(out).toString();
}

/** Splits `text` (as bytes) at `cuts`, which may fall inside a multi-byte character. */
function split(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    parts.push(bytes.subarray(from, c));
    from = c;
  }
  return parts;
}

t.test('examples', async (t) => {
  t.equal(mask(['hunter2'], ['my password is hunter2, ok']), 'my password is ***, ok');
  t.equal(mask(['hunter2'], [...'say hunter2 twice: hunter2']), 'say *** twice: ***', 'one byte per write');
  t.equal(mask(['hunter2'], ['hunt', 'er', '2\n']), '***\n');
  t.equal(mask(['hunter2'], ['hunte', 'r3']), 'hunter3', 'a prefix that does not complete is released');
  t.equal(mask(['hunter2'], ['hunte']), 'hunte', 'end() releases what was held');
  t.equal(mask(['abc', 'b'], ['ab']), 'a***', 'what end() releases is masked too');
  t.equal(mask(['abc', 'abcdef'], ['xx abcd', 'ef yy abc']), 'xx *** yy ***', 'the longest secret at a position wins');
  t.equal(mask(['abc', 'abcdef'], ['abcd', 'eX']), '***deX', 'the shorter one, once the longer cannot complete');
  t.equal(mask(['bcd', 'abc'], ['abcd']), '***d', 'leftmost first');
  t.equal(mask(['aa'], ['aaa', 'a']), '******', 'non-overlapping, left to right');
  t.equal(mask(['pässwörd'], split('x pässwörd y', [4, 9])), 'x *** y', 'split inside a UTF-8 character');
  t.equal(mask(['', 'k'], ['kick']), '***ic***', 'empty secrets are ignored');
  t.equal(mask([], ['no secrets']), 'no secrets');

  const masker = createSecretMasker(['secret']);
  t.equal(masker.write('plain text\n').toString(), 'plain text\n', 'ordinary output is not held back');
  t.equal(masker.write('a sec').toString(), 'a ', 'only a possible secret prefix is held');
  t.equal(masker.write('ret!').toString(), '***!');
});

t.test('properties: chunking never changes the result, and no secret survives', async (t) => {
  const alphabet = fc.constantFrom('a', 'b', 'c', 'ä', '€', '\n', ' ');
  const word = (min: number, max: number) =>
    fc.array(alphabet, { minLength: min, maxLength: max }).map((cs) => cs.join(''));
  fc.assert(
    fc.property(
      fc.array(word(1, 6), { minLength: 1, maxLength: 4 }),
      fc.array(fc.oneof(word(0, 8), fc.constant('SECRET')), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (secrets, pieces, cuts) => {
        // Plant the secrets in the text so that matches are common.
        const text = pieces.map((p, i) => (p === 'SECRET' ? secrets[i % secrets.length] : p)).join('');
        const whole = mask(secrets, [text]);
        const chunked = mask(secrets, split(text, cuts));
        if (chunked !== whole) throw new Error(`chunked ${JSON.stringify(chunked)} != whole ${JSON.stringify(whole)}`);
        for (const s of secrets) {
          if (whole.includes(s)) throw new Error(`secret ${JSON.stringify(s)} survives in ${JSON.stringify(whole)}`);
        }
      },
    ),
    { numRuns: 2000 },
  );
  t.pass('2000 random outputs, secrets and splits');
});
