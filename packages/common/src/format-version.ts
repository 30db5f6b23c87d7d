/**
 * Format versions of what distci stores (issue 17, rolling upgrades). Every JSON record a process
 * writes for another to read carries `v`, its format's major version: tickets, claims, presence nodes,
 * job nodes, build state and step state znodes, build records, artifact manifests, webhook inbox
 * records, secrets, tokens. Log chunks and workspaces are bytes, not records; job configs are the
 * user's documents, versioned by their schema (`docs/job-config.schema.json`), not by `v`.
 *
 * The promise: within a major version a release only adds optional fields, and readers ignore fields
 * they do not know, so a release and the one before it run side by side, in any order. A record
 * without `v` was written before `v` existed: it reads as v1. A record of a *newer* major version is
 * refused (`DISTCI_NEWER_FORMAT`), never guessed at: bumping the major means a release that reads it
 * first, and only the release after it writes it (deploy/README.md, Upgrades).
 */
import { distciError } from './errors.js';

/** The newest major format version this release reads (and the one it writes). */
export const FORMAT_VERSION = 1;

/** `record` as it was read, when its `v` is one this release reads; DISTCI_NEWER_FORMAT otherwise. */
export function checkFormat<T>(record: T, what: string): T {
  if (!record || typeof record !== 'object' || Array.isArray(record)) return record;
  const v = (record as { v?: unknown }).v;
  if (v === undefined || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= FORMAT_VERSION)) {
    return record;
  }
  throw distciError(
    'DISTCI_NEWER_FORMAT',
    `${what} has format version ${JSON.stringify(v)}; this release of distci reads up to ${FORMAT_VERSION}`,
    {
      hint: 'a newer release wrote it: upgrade this process (deploy/README.md, Upgrades: readers before writers)',
      details: { what, v, supported: FORMAT_VERSION },
    },
  );
}

/** Parses a stored JSON record and checks its format version. */
export function parseRecord<T>(bytes: Buffer | string, what: string): T {
  return checkFormat(JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8')) as T, what);
}
