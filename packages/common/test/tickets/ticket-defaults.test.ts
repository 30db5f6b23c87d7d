/**
 * How many attempts a ticket gets unless its spec says: 10 for control (a control turn needs both
 * stores, and giving up ends the build: the full chaos run's 30 s RGW outage ended a build in flight
 * with 3), 3 for the step kinds (a step's own `maxAttempts` overrides it).
 */
import { memoryStore } from '@distci/testkit';
import t from 'tap';
import { postTickets } from '../../src/tickets/post-ticket.js';
import { CONTROL_MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS, decodeTicket } from '../../src/tickets/ticket.js';

t.test('control tickets get 10 attempts by default, other kinds 3, a spec its own', async (t) => {
  const store = await memoryStore(t, '/defaults');
  const refs = await postTickets(store, [
    { kind: 'control', payload: {} },
    { kind: 'exec-shell', payload: {} },
    { kind: 'control', payload: {}, maxAttempts: 2 },
  ]);
  const attempts = await Promise.all(
    refs.map(async (r) => decodeTicket((await store.get(r.path)).data, r.path).maxAttempts),
  );
  t.same(attempts, [CONTROL_MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS, 2]);
  t.equal(CONTROL_MAX_ATTEMPTS, 10);
});
