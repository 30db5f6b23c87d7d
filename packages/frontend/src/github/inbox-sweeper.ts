/**
 * The inbox sweeper: a loop in every frontend that completes webhook deliveries whose request died
 * half-way (the domain's webhook inbox, `@distci/common` `webhooks/webhook-inbox.ts`), so nothing is lost even when GitHub never redelivers.
 *
 * Every `periodMs` (jittered ±20 % so frontends started together do not sweep together) it lists
 * the open deliveries (`distci.webhooks.open()`) and, for each marker older than `graceMs` (a request normally closes its
 * marker within a second; older means its frontend died or failed):
 * - record `done` → delete the marker (the request died after its last trigger);
 * - record open → `webhooks.complete` (safe alongside any other completer: builds are triggered at
 *   most once);
 * - no record → delete the marker (the request died before creating it: nothing was triggered, and
 *   GitHub saw a failed delivery).
 * Any number of frontends may sweep at once. Errors are logged and the next round tries again; the loop
 * stops when `signal` aborts.
 */
import { coerceError, type WebhooksService } from '@distci/common';
import type { FastifyBaseLogger } from 'fastify';

export interface SweeperInput {
  webhooks: WebhooksService;
  periodMs: number;
  /** Markers younger than this are left to their request. */
  graceMs: number;
  log: FastifyBaseLogger;
  signal: AbortSignal;
  /** Builds triggered by a sweep (for metrics). */
  onTriggered?: (count: number) => void;
}

/** One sweep; returns how many deliveries it closed. */
export async function sweepInbox(input: Omit<SweeperInput, 'periodMs' | 'signal'>, now = Date.now()): Promise<number> {
  const { webhooks, graceMs, log } = input;
  let closed = 0;
  for await (const { delivery, since } of webhooks.open()) {
    if (now - since.getTime() < graceMs) continue;
    try {
      const found = await webhooks.read(delivery);
      if (!found || found.record.done) {
        await webhooks.close(delivery);
      } else {
        const { record, triggered } = await webhooks.complete(found.record, found.etag);
        log.info(
          { delivery, builds: record.targets.map((t) => `${t.job}#${t.build}`), triggered },
          'inbox: delivery completed by the sweeper',
        );
        input.onTriggered?.(triggered);
      }
      closed++;
    } catch (err) {
      log.warn({ err: coerceError(err), delivery }, 'inbox: could not complete a delivery; next sweep retries');
    }
  }
  return closed;
}

/** Runs `sweepInbox` every `periodMs` until `signal` aborts. */
export async function runInboxSweeper(input: SweeperInput): Promise<void> {
  const { periodMs, signal, log } = input;
  log.info({ periodMs }, 'inbox sweeper: start');
  while (!signal.aborted) {
    const delay = periodMs * (0.8 + Math.random() * 0.4);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
    if (signal.aborted) break;
    try {
      await sweepInbox(input);
    } catch (err) {
      log.warn({ err: coerceError(err) }, 'inbox sweeper: sweep failed; next round retries');
    }
  }
  log.info('inbox sweeper: exit');
}
