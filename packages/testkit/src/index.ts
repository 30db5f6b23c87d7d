/**
 * The test kit: the real services of a test run (ZooKeeper, Ceph RGW), stores opened on them, and the
 * conformance suites every adapter runs. Test-only: never imported by `src` of another package.
 */
export * from './conformance/blob-store.js';
export * from './conformance/coordination-store.js';
export * from './conformance/ticket-protocol.js';
export * from './coordination-dump.js';
export * from './harness/ceph.js';
export * from './harness/coordination-harnesses.js';
export * from './harness/memory-stores.js';
export * from './harness/processes.js';
export * from './harness/remove-tree.js';
export * from './harness/services.js';
export * from './harness/tcp-proxy.js';
export * from './harness/zookeeper.js';
export * from './web-job.js';
