/** The forms of a secret that are masked: the value, base64 (padded or not, URL-safe), URL-encoded. */
import t from 'tap';
import { maskedForms } from '../../src/kinds/secret-forms.js';
import { createSecretMasker } from '../../src/kinds/secret-masker.js';

t.test('every encoded form is masked, also split across writes', async (t) => {
  const value = 'p@ss w/rd?';
  const masker = createSecretMasker(maskedForms([value]));
  const text = `a ${value} b ${Buffer.from(value).toString('base64')} c ${encodeURIComponent(value)} d\n`;
  let out = '';
  for (const ch of text) out += masker.write(ch).toString();
  out += masker.end().toString();
  t.equal(out, 'a *** b *** c *** d\n');
  t.same(maskedForms(['']), []);
});
