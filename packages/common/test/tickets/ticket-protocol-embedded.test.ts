/** The ticket protocol suite on the embedded store. */

import { createEmbeddedServer } from '@distci/store-embedded';
import { embeddedHarness, ticketProtocolSuite } from '@distci/testkit';
import t from 'tap';

const server = createEmbeddedServer();
t.teardown(() => server.close());
ticketProtocolSuite(t, embeddedHarness('embedded', server));
