/**
 * Opens the storage compiled options describe: ZooKeeper or the embedded store, S3 or a directory.
 * The only place that chooses an adapter; everything else sees `CoordinationStore` and `BlobStore`.
 */
import type { BlobStore, CoordinationStore, StorageOptions } from '@distci/common';
import { createDirectoryBlobStore } from '@distci/store-directory';
import { createEmbeddedServer, type EmbeddedServer } from '@distci/store-embedded';
import { createS3BlobStore } from '@distci/store-s3';
import { createZooKeeperStore } from '@distci/store-zookeeper';

export interface Storage {
  readonly options: StorageOptions;
  /** A new coordination client with its own session (each worker and frontend holds one). */
  connect(): Promise<CoordinationStore>;
  readonly blob: BlobStore;
  /** Closes every client opened here, the embedded server if any, and the blob store. */
  close(): Promise<void>;
}

export async function openStorage(options: StorageOptions): Promise<Storage> {
  const clients = new Set<CoordinationStore>();
  let server: EmbeddedServer | null = null;
  const c = options.coordination;
  if (c.type === 'embedded') server = createEmbeddedServer({ dataDir: c.dataDir });
  const blob = options.blob.type === 's3' ? createS3BlobStore(options.blob) : createDirectoryBlobStore(options.blob);
  const track = (store: CoordinationStore) => {
    clients.add(store);
    const close = store.close.bind(store);
    return Object.assign(store, {
      close: async () => {
        clients.delete(store);
        await close();
      },
    });
  };
  return {
    options,
    blob,
    async connect() {
      if (c.type === 'embedded') {
        return track(await server!.connect({ sessionTimeoutMs: c.sessionTimeoutMs, chroot: '/distci' }));
      }
      const store = track(
        createZooKeeperStore({ connect: c.connect, chroot: c.chroot, sessionTimeoutMs: c.sessionTimeoutMs }),
      );
      await store.ready();
      return store;
    },
    async close() {
      await Promise.all([...clients].map((s) => s.close()));
      await server?.close();
      await blob.close();
    },
  };
}
