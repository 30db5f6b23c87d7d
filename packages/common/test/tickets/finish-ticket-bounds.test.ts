/**
 * Finishing a ticket never spins (issue 13, hole 1): an oversized transaction is refused before it is
 * sent (ZooKeeper answers one by dropping the connection), and a multi whose answer keeps being lost
 * without applying is retried with backoff a bounded number of times.
 */
import { memoryStore } from '@distci/testkit';
import t, { type Test } from 'tap';
import type { CoordinationStore, Op } from '../../src/coordination-store.js';
import { distciError, isDistciError } from '../../src/errors.js';
import { claimTicket } from '../../src/tickets/claim-ticket.js';
import { finishTicket, MAX_LOST_ANSWER_RETRIES } from '../../src/tickets/finish-ticket.js';
import { postTickets } from '../../src/tickets/post-ticket.js';
import { MAX_TXN_BYTES } from '../../src/txn-budget.js';

async function claimed(t: Test) {
  const store = await memoryStore(t, '/finish');
  const [ref] = await postTickets(store, [{ kind: 'control', payload: { n: 1 } }]);
  const result = await claimTicket(store, ref!, { id: 'w1', host: 'h' });
  if (result.outcome !== 'claimed') throw new Error(result.outcome);
  return { store, claim: result.claim };
}

/** The store, with every `multi` answered by a lost connection (as ZooKeeper answers an oversized packet). */
function losingAnswers(store: CoordinationStore): { store: CoordinationStore; multis: () => number } {
  let multis = 0;
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'multi') {
        return async () => {
          multis++;
          throw distciError('DISTCI_CONNECTION_LOSS', 'connection lost (test)');
        };
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, multis: () => multis };
}

t.test('a multi whose answer is always lost is retried with backoff, then given up', async (t) => {
  const { store, claim } = await claimed(t);
  const losing = losingAnswers(store);
  const started = Date.now();
  // Before the fix: retried at once for ever (this await never settled).
  const err = await finishTicket(losing.store, claim, []).then(
    () => null,
    (e: unknown) => e,
  );
  const took = Date.now() - started;
  t.ok(isDistciError(err, 'DISTCI_STORE_RETRIES_EXHAUSTED'), String(err));
  t.equal(losing.multis(), MAX_LOST_ANSWER_RETRIES + 1, 'bounded');
  t.ok(took >= 3000, `backed off between tries (${took} ms)`);
  t.ok((await store.exists(claim.claimPath)) !== null, 'nothing applied: the claim is still held');
});

t.test('an oversized transaction is refused before it is sent', async (t) => {
  const { store, claim } = await claimed(t);
  const losing = losingAnswers(store);
  const big = Buffer.alloc(4000, 'x');
  const ops: Op[] = Array.from({ length: 200 }, (_, i) => ({ type: 'create', path: `/big-${i}`, data: big }));
  const err = await finishTicket(losing.store, claim, ops).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isDistciError(err, 'DISTCI_TXN_TOO_LARGE'), String(err));
  t.match((err as Error).message, new RegExp(`over distci's ${MAX_TXN_BYTES}-byte limit`));
  t.equal(losing.multis(), 0, 'never sent');
});
