/**
 * The webhook inbox: every GitHub delivery that asks for builds is recorded *before* any build is
 * triggered, so that a delivery is built exactly once — whether it is redelivered, delivered to two
 * frontends at once, or its frontend dies half-way.
 *
 * Objects (`blobKeys.webhookDelivery` / `webhookOpen`):
 * - `webhooks/github/deliveries/<delivery>.json`, created with `ifNoneMatch: '*'` (exactly one creator
 *   wins): the delivery's *targets* — per job: the config version matched, ref, commit, `fromBuild`
 *   (the job's build counter read before the record was created) and `build` (null until known) — and
 *   `done`. Updated by compare-and-set (`ifMatch`) as builds become known.
 * - `webhooks/github/open/<delivery>`: put just before the record, deleted once it is `done`; the
 *   sweeper (`inbox-sweeper.ts`) lists only these, not every delivery ever received.
 *
 * Receiving (`receiveDelivery`): a delivery whose record exists is a duplicate: answered from the
 * record when it is `done`, else completed (below) first. A new one: match the jobs, put the open
 * marker, create the record (create-only; losing that race makes it a duplicate), complete it.
 *
 * Completing (`completeDelivery`), per target whose build is not known, `triggerOnce`:
 * 1. read the job's counter node (value N, version V);
 * 2. look at builds `fromBuild … N-1` for one whose trigger names this delivery: if found, that is
 *    its build (a previous attempt triggered it, then died before writing it down);
 * 3. otherwise trigger with `triggerOps` — whose first op sets the counter *at version V*. If any build
 *    of the job was triggered since step 1 (by anyone: a concurrent completer of this very delivery
 *    included), the transaction fails on that version and changes nothing; go back to 1 and look again.
 * So a delivery's build is triggered at most once under any concurrency, with no lock and no extra
 * znode — and at least once, since nothing marks the record `done` before every target has its build.
 * Step 2 is exact because any build for this delivery was triggered after its record existed, hence
 * after `fromBuild` was read: its number is ≥ `fromBuild`.
 *
 * Crash points: before the record → nothing happened (GitHub sees an error; a redelivery starts
 * over). After the record, before or after some triggers → the record stays open: a redelivery, or
 * the sweeper of any frontend, completes it, and step 2 finds the builds already triggered. Costs on
 * the happy path: two object-store puts before the first trigger, one CAS put and one delete after.
 */
import type { BlobStore } from '../blob-store.js';
import { decodeJson, type TriggerInfo } from '../builds/build-state.js';
import { readBuildState } from '../builds/build-state-node.js';
import { readBuildRecord } from '../builds/read-build.js';
import { readJobNode, triggerOps } from '../builds/trigger-build.js';
import type { CoordinationStore } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { isDistciError } from '../errors.js';
import { blobKeys, zpaths } from '../keys.js';
import { ensureOnce } from '../tickets/post-ticket.js';

/** The GitHub events that trigger builds. */
export type GithubEvent = 'push' | 'pull_request';

/** A job a delivery asks to build, with the config version it runs. */
export interface MatchedJob {
  job: string;
  config: { key: string; etag: string };
}

export const SOURCE = 'github';
/** 50: CAS rounds on one inbox record; only completers of the same delivery race for it. */
const MAX_CAS_ROUNDS = 50;

export interface InboxTarget extends MatchedJob {
  ref: string;
  commit: string;
  /** The job's build counter before the record was created: this delivery's build is numbered ≥ it. */
  fromBuild: number;
  build: number | null;
}

export interface InboxRecord {
  v: 1;
  delivery: string;
  event: GithubEvent;
  receivedAt: number;
  sender: string | null;
  /** A pull request from a fork: its builds get no secrets. */
  fork?: boolean;
  /** The repository's `owner/name`: where the builds' commit statuses go (`commit-status.ts`). */
  repo?: string;
  targets: InboxTarget[];
  done: boolean;
}

export interface Delivered {
  record: InboxRecord;
  /** A record of this delivery existed already. */
  duplicate: boolean;
  /** Builds triggered by this call (not found already triggered). */
  triggered: number;
}

export interface InboxStorage {
  store: CoordinationStore;
  blob: BlobStore;
  /** The domain's caches (`openDistci`); without them nothing is remembered. */
  caches?: DomainCaches;
}

export async function readRecord(
  blob: BlobStore,
  delivery: string,
): Promise<{ record: InboxRecord; etag: string } | null> {
  const key = blobKeys.webhookDelivery(SOURCE, delivery);
  try {
    const { body, info } = await blob.get(key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    return { record: decodeJson<InboxRecord>(Buffer.concat(chunks), 'a webhook inbox record'), etag: info.etag };
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

/** The trigger of build `n`, live or archived; null when it is gone. */
async function triggerOf({ store, blob }: InboxStorage, job: string, n: number): Promise<TriggerInfo | null> {
  const live = await readBuildState(store, job, n);
  if (live) return live.state.trigger;
  return (await readBuildRecord(blob, job, n))?.trigger ?? null;
}

/** Triggers the build of one target unless this delivery already has one; returns its number. */
export async function triggerOnce(
  storage: InboxStorage,
  record: Pick<InboxRecord, 'delivery' | 'event' | 'sender' | 'fork' | 'repo'>,
  target: InboxTarget,
): Promise<{ number: number; triggered: boolean }> {
  const { store, caches } = storage;
  await ensureOnce(store, [zpaths.builds(target.job)], caches);
  let scanned = target.fromBuild;
  for (;;) {
    const { node, version } = await readJobNode(store, target.job);
    for (; scanned < node.nextBuild; scanned++) {
      const trigger = await triggerOf(storage, target.job, scanned);
      if (trigger?.type === 'github' && trigger.delivery === record.delivery)
        return { number: scanned, triggered: false };
    }
    const trigger: TriggerInfo = {
      type: 'github',
      event: record.event,
      delivery: record.delivery,
      ...(record.sender ? { sender: record.sender } : {}),
      ...(record.fork ? { fork: true } : {}),
      ...(record.repo ? { repo: record.repo } : {}),
    };
    const { ops, number } = await triggerOps(
      store,
      { job: target.job, config: target.config, trigger, ref: target.ref, commit: target.commit },
      node,
      version,
      Date.now(),
      caches,
    );
    try {
      await store.multi(ops);
      return { number, triggered: true };
    } catch (err) {
      const index = (err as { details?: { opIndex?: unknown } }).details?.opIndex;
      if (index === 0 && isDistciError(err, 'DISTCI_BAD_VERSION')) continue; // a build was triggered meanwhile: look
      throw err;
    }
  }
}

/** Triggers what is missing, records the builds (CAS), closes the delivery. */
export async function completeDelivery(
  storage: InboxStorage,
  record: InboxRecord,
  etag: string,
): Promise<{ record: InboxRecord; triggered: number }> {
  const { blob } = storage;
  const results = await Promise.all(
    record.targets.map(async (t) =>
      t.build !== null ? { number: t.build, triggered: false } : triggerOnce(storage, record, t),
    ),
  );
  const triggered = results.filter((r) => r.triggered).length;
  const key = blobKeys.webhookDelivery(SOURCE, record.delivery);
  let current = { record, etag };
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const done: InboxRecord = {
      ...current.record,
      targets: current.record.targets.map((t) => ({
        ...t,
        build: t.build ?? results[record.targets.findIndex((r) => r.job === t.job)]?.number ?? null,
      })),
    };
    done.done = done.targets.every((t) => t.build !== null);
    if (current.record.done || JSON.stringify(done) === JSON.stringify(current.record)) break;
    try {
      await blob.put(key, `${JSON.stringify(done, null, 1)}\n`, {
        contentType: 'application/json',
        ifMatch: current.etag,
      });
      current = { record: done, etag: '' };
      break;
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_BLOB_CONFLICT')) throw err;
      const again = await readRecord(blob, record.delivery);
      if (!again) throw err;
      current = again;
    }
  }
  if (current.record.done) await blob.delete(blobKeys.webhookOpen(SOURCE, record.delivery));
  return { record: current.record, triggered };
}

/** Answers a delivery whose record exists: from the record when done, else after completing it. */
async function duplicateOf(storage: InboxStorage, existing: { record: InboxRecord; etag: string }): Promise<Delivered> {
  if (existing.record.done) {
    await storage.blob.delete(blobKeys.webhookOpen(SOURCE, existing.record.delivery));
    return { record: existing.record, duplicate: true, triggered: 0 };
  }
  const { record, triggered } = await completeDelivery(storage, existing.record, existing.etag);
  return { record, duplicate: true, triggered };
}

/**
 * Receives a delivery: a known one (its record exists) is a duplicate, answered from its record; else
 * `makeRecord` says what to build (null: nothing, and nothing is written), the record is created
 * (create-only: of two concurrent receivers one creates, the other is a duplicate) and completed.
 */
export async function receiveDelivery(
  storage: InboxStorage,
  delivery: string,
  makeRecord: () => Promise<InboxRecord | null>,
): Promise<Delivered | null> {
  const { blob } = storage;
  const known = await readRecord(blob, delivery);
  if (known) return duplicateOf(storage, known);
  const fresh = await makeRecord();
  if (!fresh) return null;
  await blob.put(blobKeys.webhookOpen(SOURCE, delivery), `${fresh.receivedAt}\n`, { contentType: 'text/plain' });
  let created: { etag: string } | null = null;
  try {
    created = await blob.put(blobKeys.webhookDelivery(SOURCE, delivery), `${JSON.stringify(fresh, null, 1)}\n`, {
      contentType: 'application/json',
      ifNoneMatch: '*',
    });
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_BLOB_CONFLICT')) throw err;
  }
  if (created) {
    const { record, triggered } = await completeDelivery(storage, fresh, created.etag);
    return { record, duplicate: false, triggered };
  }
  const existing = await readRecord(blob, delivery);
  if (!existing) throw new Error(`the inbox record of delivery ${delivery} exists and then does not`);
  return duplicateOf(storage, existing);
}

/** Reads the build counters of the matched jobs (before the record is created: see the header). */
export async function targetsOf(
  store: CoordinationStore,
  matched: MatchedJob[],
  ref: string,
  commit: string,
): Promise<InboxTarget[]> {
  return Promise.all(
    matched.map(async (m) => {
      const exists = await store.exists(zpaths.job(m.job));
      const fromBuild = exists ? (await readJobNode(store, m.job)).node.nextBuild : 1;
      return { ...m, ref, commit, fromBuild, build: null };
    }),
  );
}

/** The deliveries not completed yet (their open markers), with when each was received. */
export async function* openDeliveries(blob: BlobStore): AsyncGenerator<{ delivery: string; since: Date }> {
  const prefix = blobKeys.webhookOpenPrefix(SOURCE);
  let cursor: string | null = null;
  do {
    const page = await blob.list({ prefix, ...(cursor ? { cursor } : {}) });
    cursor = page.cursor;
    for (const marker of page.blobs) yield { delivery: marker.key.slice(prefix.length), since: marker.lastModified };
  } while (cursor);
}

/** Removes a delivery's open marker (it is done, or has no record). */
export async function closeDelivery(blob: BlobStore, delivery: string): Promise<void> {
  await blob.delete(blobKeys.webhookOpen(SOURCE, delivery));
}
