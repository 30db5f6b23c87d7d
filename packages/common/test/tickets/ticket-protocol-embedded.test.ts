/** The ticket protocol suite on the embedded store. */
import t from 'tap';
import { createEmbeddedServer } from '../../src/embedded-server.js';
import { ticketProtocolSuite } from '../conformance/ticket-protocol.js';
import { embeddedHarness } from '../harness/coordination-harnesses.js';

const server = createEmbeddedServer();
t.teardown(() => server.close());
ticketProtocolSuite(t, embeddedHarness('embedded', server));
