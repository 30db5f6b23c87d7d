/**
 * The coordination-store harnesses every suite runs on (conformance, ticket protocol): a real
 * ZooKeeper (each store behind its own TCP proxy, so one can be silently cut off to expire its
 * session) and the embedded store (its server expires sessions on request).
 */

import type { CoordinationStore, SessionState } from '@distci/common';
import type { EmbeddedServer } from '@distci/store-embedded';
import { createZooKeeperStore } from '@distci/store-zookeeper';
import type { Test } from 'tap';
import type { CoordinationHarness } from '../conformance/coordination-store.js';
import { loadServices } from './services.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** 5 s: short enough for tests that wait on a close, long enough not to expire on a busy machine. */
export const DEFAULT_TEST_SESSION_MS = 5000;

function nextState(store: CoordinationStore, wanted: SessionState[]): Promise<void> {
  return new Promise((resolve) => {
    const off = store.onState((state) => {
      if (wanted.includes(state)) {
        off();
        resolve();
      }
    });
  });
}

/** ZooKeeper: every store through its own proxy; proxies closed when `t` ends. */
export function zookeeperHarness(t: Test): CoordinationHarness {
  const { zk } = loadServices();
  const zkPort = Number(zk.connect.split(':').pop());
  const proxies = new Map<CoordinationStore, TcpProxy>();
  t.teardown(async () => {
    await Promise.all([...proxies.values()].map((p) => p.close()));
  });
  return {
    name: 'zookeeper',
    async open(namespace, options) {
      const proxy = await startTcpProxy(zkPort);
      const store = createZooKeeperStore({
        connect: `127.0.0.1:${proxy.port}`,
        chroot: namespace,
        sessionTimeoutMs: options?.sessionTimeoutMs ?? DEFAULT_TEST_SESSION_MS,
      });
      proxies.set(store, proxy);
      await store.ready();
      return store;
    },
    async expireSession(store) {
      const proxy = proxies.get(store);
      if (!proxy) throw new Error('expireSession: this store was not opened by the harness');
      // Silent partition: the watchdog suspends the store, the server expires the session, and the
      // store, still cut off, declares it expired itself. Then heal.
      const expired = nextState(store, ['expired']);
      proxy.freeze();
      await expired;
      proxy.unfreeze();
    },
  };
}

/** The embedded store: clients of one server, each namespace a chroot. */
export function embeddedHarness(name: string, server: EmbeddedServer): CoordinationHarness {
  return {
    name,
    open: (namespace, options) => server.connect({ chroot: namespace, ...options }),
    expireSession: (store) => server.expireSession(store.sessionId!),
  };
}
