import t from 'tap';
import { signPayload, verifySignature } from '../../src/github/signature.js';

t.test('X-Hub-Signature-256', async (t) => {
  // GitHub's documented example ("Validating webhook deliveries"): secret and payload below.
  const secret = "It's a Secret to Everybody";
  const body = Buffer.from('Hello, World!');
  const expected = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  t.equal(signPayload(secret, body), expected);
  t.ok(verifySignature(secret, body, expected));
  t.ok(verifySignature(secret, body, expected.toUpperCase().replace('SHA256', 'sha256')), 'hex case');
  t.notOk(verifySignature(secret, Buffer.from('Hello, World?'), expected));
  t.notOk(verifySignature('another', body, expected));
  t.notOk(verifySignature(null, body, expected), 'no secret: nothing verifies');
  t.notOk(verifySignature(secret, body, undefined));
  t.notOk(verifySignature(secret, body, [expected, expected]));
  t.notOk(verifySignature(secret, body, expected.slice(0, -2)));
  t.notOk(verifySignature(secret, body, `${expected}00`));
  t.notOk(verifySignature(secret, body, expected.replace('sha256=', 'sha1=')));
});
