/**
 * `distci.webhooks`: the webhook inbox (`webhooks/webhook-inbox.ts`) — a delivery recorded before any
 * build it asks for is triggered, so each is built exactly once — and what its sweeper needs.
 */
import type { BlobStore } from '../blob-store.js';
import type { CoordinationStore } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import {
  closeDelivery,
  completeDelivery,
  type Delivered,
  type InboxRecord,
  type InboxTarget,
  type MatchedJob,
  openDeliveries,
  readRecord,
  receiveDelivery,
  targetsOf,
} from '../webhooks/webhook-inbox.js';

export interface WebhooksService {
  /** Receives a delivery (see `receiveDelivery`): null when `makeRecord` says there is nothing to build. */
  receive(delivery: string, makeRecord: () => Promise<InboxRecord | null>): Promise<Delivered | null>;
  /** A delivery's inbox record and its ETag, or null. */
  read(delivery: string): Promise<{ record: InboxRecord; etag: string } | null>;
  /** Triggers what is missing, records the builds, closes the delivery. */
  complete(record: InboxRecord, etag: string): Promise<{ record: InboxRecord; triggered: number }>;
  /** The matched jobs as inbox targets (their build counters read before the record is created). */
  targets(matched: MatchedJob[], ref: string, commit: string): Promise<InboxTarget[]>;
  /** Deliveries not completed yet, with when each was received. */
  open(): AsyncGenerator<{ delivery: string; since: Date }>;
  /** Drops a delivery's open marker (done, or without a record). */
  close(delivery: string): Promise<void>;
}

export function openWebhooks(store: CoordinationStore, blob: BlobStore, caches: DomainCaches): WebhooksService {
  const storage = { store, blob, caches };
  return {
    receive: (delivery, makeRecord) => receiveDelivery(storage, delivery, makeRecord),
    read: (delivery) => readRecord(blob, delivery),
    complete: (record, etag) => completeDelivery(storage, record, etag),
    targets: (matched, ref, commit) => targetsOf(store, matched, ref, commit),
    open: () => openDeliveries(blob),
    close: (delivery) => closeDelivery(blob, delivery),
  };
}
