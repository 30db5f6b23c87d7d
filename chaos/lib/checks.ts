/**
 * What the suite checks once the chaos is over, read straight from the stores (`openStorage`'s
 * adapters), not through the API under test: every build of both jobs is archived with a final status
 * and has no node left; nothing was recorded twice; every successful build's artifacts are there with
 * the manifest's sha256; ZooKeeper is back to its baseline size.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ArtifactManifest,
  type BlobStore,
  type BuildRecord,
  blobKeys,
  type CoordinationStore,
  isDistciError,
  readBlob,
  readBuildRecord,
  zpaths,
} from '@distci/common';

export const FINAL = new Set(['success', 'failure', 'cancelled', 'error']);

/** Every node under the chroot, by path (depth-first). */
export async function zkNodes(store: CoordinationStore, path = '/'): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string) => {
    let children: string[];
    try {
      children = await store.children(p);
    } catch {
      return; // deleted meanwhile
    }
    for (const c of children) {
      const child = p === '/' ? `/${c}` : `${p}/${c}`;
      out.push(child);
      await walk(child);
    }
  };
  await walk(path);
  return out;
}

/** Nodes that must not outlive the work: tickets, claims, builds (and their step states). */
export function leftovers(nodes: string[]): string[] {
  return nodes.filter(
    (p) =>
      /^\/tickets\/[^/]+\/[^/]+\/[^/]+$/.test(p) ||
      /^\/claims\/[^/]+\/[^/]+$/.test(p) ||
      /^\/jobs\/[^/]+\/builds\/b-\d+$/.test(p),
  );
}

/**
 * Who holds a claim left over (its node's data: worker, attempt, start) and the lines of that worker's
 * log about the ticket, with the log's last lines: what a stuck build's diagnosis starts from.
 */
export async function describeClaim(store: CoordinationStore, claim: string, logDir: string): Promise<string> {
  let data: { worker?: string; attempt?: number; startedAt?: number };
  try {
    data = JSON.parse((await store.get(claim)).data.toString());
  } catch (err) {
    return `unreadable (${(err as Error).message})`;
  }
  const out = [
    `worker ${data.worker}, attempt ${data.attempt}, claimed ${new Date(data.startedAt ?? 0).toISOString()}`,
  ];
  const name = claim.slice(claim.lastIndexOf('/') + 1).replace(/-\d+$/, '');
  const ticketId = name.slice(name.indexOf('~') + 1);
  for (const file of readdirSync(logDir).filter((f) => f.endsWith('.log'))) {
    const lines = readFileSync(join(logDir, file), 'utf8').split('\n');
    if (!data.worker || !lines.some((l) => l.includes(data.worker!))) continue;
    out.push(`    log ${file}, lines about ${ticketId}:`);
    out.push(
      ...lines
        .filter((l) => l.includes(ticketId))
        .slice(-15)
        .map((l) => `      ${l}`),
    );
    out.push('    its last lines:', ...lines.slice(-15).map((l) => `      ${l}`));
  }
  return out.join('\n');
}

export interface JobCheck {
  job: string;
  builds: number;
  records: Map<number, BuildRecord>;
  lost: number[];
  stuck: number[];
}

/** Builds 1 … nextBuild-1 of a job: archived (a record with a final status) and no node left. */
export async function checkJob(store: CoordinationStore, blob: BlobStore, job: string): Promise<JobCheck> {
  const node = JSON.parse((await store.get(zpaths.job(job))).data.toString('utf8')) as { nextBuild: number };
  const records = new Map<number, BuildRecord>();
  const lost: number[] = [];
  const stuck: number[] = [];
  const numbers = Array.from({ length: node.nextBuild - 1 }, (_, i) => i + 1);
  for (let i = 0; i < numbers.length; i += 16) {
    await Promise.all(
      numbers.slice(i, i + 16).map(async (n) => {
        const [live, record] = await Promise.all([store.exists(zpaths.build(job, n)), readBuildRecord(blob, job, n)]);
        if (live) stuck.push(n);
        else if (!record || !FINAL.has(record.status)) lost.push(n);
        if (record) records.set(n, record);
      }),
    );
  }
  return { job, builds: numbers.length, records, lost: lost.sort((a, b) => a - b), stuck: stuck.sort((a, b) => a - b) };
}

/** The object's bytes, or null when it does not exist. */
async function tryRead(blob: BlobStore, key: string): Promise<Buffer | null> {
  try {
    return await readBlob(blob, key);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

export interface ArtifactProblem {
  build: number;
  problem: string;
}

/** A successful build's manifest names `expected` artifacts; each exists with its size and sha256. */
export async function checkArtifacts(
  blob: BlobStore,
  job: string,
  build: number,
  expected: number,
): Promise<ArtifactProblem[]> {
  const problems: ArtifactProblem[] = [];
  const bytes = await tryRead(blob, blobKeys.artifactManifest(job, build));
  if (!bytes) return [{ build, problem: 'no manifest' }];
  const manifest = JSON.parse(bytes.toString('utf8')) as ArtifactManifest;
  const paths = manifest.artifacts.map((a) => a.path);
  if (new Set(paths).size !== paths.length) problems.push({ build, problem: `duplicate paths: ${paths.join(',')}` });
  if (manifest.artifacts.length !== expected) {
    problems.push({ build, problem: `${manifest.artifacts.length} artifacts, expected ${expected}` });
  }
  for (const a of manifest.artifacts) {
    const data = await tryRead(blob, blobKeys.artifact(job, build, a.path));
    if (!data) problems.push({ build, problem: `${a.path} missing` });
    else if (data.length !== a.size || createHash('sha256').update(data).digest('hex') !== a.sha256) {
      problems.push({ build, problem: `${a.path}: size/sha256 differ from the manifest` });
    }
  }
  return problems;
}
