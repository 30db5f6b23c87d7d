/** The ticket protocol suite on a real ZooKeeper. */
import t from 'tap';
import { ticketProtocolSuite } from '../conformance/ticket-protocol.js';
import { zookeeperHarness } from '../harness/coordination-harnesses.js';

ticketProtocolSuite(t, zookeeperHarness(t));
