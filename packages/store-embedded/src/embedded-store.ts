/**
 * The embedded coordination store: ZooKeeper 3.8's semantics for everything in `CoordinationStore`, in
 * this process, for one-machine use (`distci dev`). Modules:
 * - embedded-server.ts: `createEmbeddedServer`, sessions and their expiry;
 * - embedded-client.ts: one client (a `CoordinationStore`), its session, watches and event order;
 * - embedded-core.ts: the write path shared by every client (apply → log → notify);
 * - embedded-tree.ts: the node tree and `multi`; embedded-watches.ts: one-shot watches;
 * - embedded-paths.ts: path validation and chroot;
 * - embedded-persistence.ts, embedded-txn-log.ts, embedded-snapshot.ts, embedded-lock.ts: the data dir.
 */
import type { CoordinationStore } from '@distci/common';
import { type EmbeddedConnectOptions, EmbeddedServerImpl, type EmbeddedServerOptions } from './embedded-server.js';

export type { RecoveryInfo } from './embedded-core.js';
export {
  createEmbeddedServer,
  type EmbeddedConnectOptions,
  type EmbeddedServer,
  type EmbeddedServerOptions,
} from './embedded-server.js';

export interface EmbeddedStoreOptions extends EmbeddedServerOptions, EmbeddedConnectOptions {}

/** A private embedded server with one client; closing the client closes the server. */
export async function createEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<CoordinationStore> {
  const { sessionTimeoutMs, chroot, ...serverOptions } = options;
  const server = new EmbeddedServerImpl(serverOptions);
  try {
    return await server.connect({ sessionTimeoutMs, chroot }, () => server.close());
  } catch (err) {
    await server.close();
    throw err;
  }
}
