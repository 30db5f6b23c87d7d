export * from './zookeeper-store.js';
