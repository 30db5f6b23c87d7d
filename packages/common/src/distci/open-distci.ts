/**
 * The domain layer: one object opened over a storage (a coordination session and the object store),
 * through which every caller — the frontend's routes, the workers' runtime and step kinds — reads and
 * changes jobs, builds, tickets, logs, artifacts, workspaces and webhook deliveries in the glossary's
 * words. bullmq's rule: callers never talk to the datastore. Only the domain (`packages/common/src`)
 * builds znode paths and object keys (`keys.ts`) and composes coordination ops; a test
 * (`packages/testkit/test/boundary.test.ts`) fails when any other source file imports them.
 *
 * The object owns what the domain remembers about its storage (`DomainCaches`: parents known to
 * exist, the per-job trigger queue, archived records) and the shared log readers: open one per
 * process and storage, and keep it as long as the session.
 */
import type { BlobStore } from '../blob-store.js';
import type { CoordinationStore } from '../coordination-store.js';
import { createDomainCaches, type DomainCaches } from '../domain-caches.js';
import { type ArtifactsService, openArtifacts } from './artifacts-service.js';
import { type BuildsService, openBuilds } from './builds-service.js';
import { type JobsService, openJobs } from './jobs-service.js';
import { type LogsService, openLogs } from './logs-service.js';
import { openTickets, type TicketsService } from './tickets-service.js';
import { openWebhooks, type WebhooksService } from './webhooks-service.js';
import { openWorkspaces, type WorkspacesService } from './workspaces-service.js';

export interface DistciStorage {
  /** This process's coordination session. */
  readonly store: CoordinationStore;
  readonly blob: BlobStore;
}

export interface Distci {
  readonly jobs: JobsService;
  readonly builds: BuildsService;
  readonly tickets: TicketsService;
  readonly logs: LogsService;
  readonly artifacts: ArtifactsService;
  readonly workspaces: WorkspacesService;
  readonly webhooks: WebhooksService;
  /**
   * The storage underneath, for what carries no domain name: liveness pings (`/healthz`), the session's
   * state and watch callbacks of live streams. Never for reading or writing a job, build or ticket.
   */
  readonly storage: DistciStorage;
}

export interface OpenDistciOptions {
  /** How often a followed log is looked at (default `LOG_POLL_MS`, 500 ms). */
  logPollMs?: number;
}

export function openDistci(storage: DistciStorage, options: OpenDistciOptions = {}): Distci {
  const { store, blob } = storage;
  const caches: DomainCaches = createDomainCaches();
  return {
    jobs: openJobs(store, blob),
    builds: openBuilds(store, blob, caches),
    tickets: openTickets(store, caches),
    logs: openLogs(blob, options.logPollMs === undefined ? {} : { pollMs: options.logPollMs }),
    artifacts: openArtifacts(blob),
    workspaces: openWorkspaces(blob),
    webhooks: openWebhooks(store, blob, caches),
    storage: { store, blob },
  };
}
