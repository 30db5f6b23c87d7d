/** The ticket protocol suite on a real ZooKeeper. */

import { ticketProtocolSuite, zookeeperHarness } from '@distci/testkit';
import t from 'tap';

ticketProtocolSuite(t, zookeeperHarness(t));
