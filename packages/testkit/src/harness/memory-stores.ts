/**
 * Stores for unit tests that need no real service: an embedded coordination store in memory and a
 * directory object store in a temp dir, each closed (and removed) when the test ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlobStore, type CoordinationStore, type LogRef, readLogChunk } from '@distci/common';
import { createDirectoryBlobStore } from '@distci/store-directory';
import { createEmbeddedServer } from '@distci/store-embedded';
import type { Test } from 'tap';

/** `sessions` clients of one in-memory embedded server, under `chroot`. */
export async function memoryStores(t: Test, chroot: string, sessions: number): Promise<CoordinationStore[]> {
  const server = createEmbeddedServer();
  const stores = await Promise.all(Array.from({ length: sessions }, () => server.connect({ chroot })));
  t.teardown(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await server.close();
  });
  return stores;
}

/** One client of an in-memory embedded server, under `chroot`. */
export async function memoryStore(t: Test, chroot: string): Promise<CoordinationStore> {
  return (await memoryStores(t, chroot, 1))[0]!;
}

/** A directory object store in a fresh temp dir (`distci-<name>-…`). */
export async function tempBlobStore(t: Test, name: string): Promise<BlobStore> {
  const dir = await mkdtemp(join(tmpdir(), `distci-${name}-`));
  const blob = createDirectoryBlobStore({ dir, prefix: '' });
  t.teardown(async () => {
    await blob.close();
    await rm(dir, { recursive: true, force: true });
  });
  return blob;
}

/** A step attempt's log chunks in order (`readLogChunk`), not the line index entries beside them. */
export async function readLogChunks(blob: BlobStore, ref: LogRef): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (let i = 0; ; i++) {
    const chunk = await readLogChunk(blob, ref, i);
    if (!chunk) return chunks;
    chunks.push(chunk);
  }
}

/** A step attempt's whole log. */
export async function readWholeLog(blob: BlobStore, ref: LogRef): Promise<Buffer> {
  return Buffer.concat(await readLogChunks(blob, ref));
}
