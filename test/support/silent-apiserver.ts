// An "apiserver" on loopback that takes requests and never answers, as one behind a half-open
// connection would, with the operator's client pointed at it: for unit tests of cancellation.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { KubeClient } from '../../src/kube/client.ts';

/** Starts the server (closed when the test ends); `onRequest` sees each request it swallows. */
export async function silentApiserver(
  t: TestContext,
  onRequest: (request: IncomingMessage) => void,
): Promise<KubeClient> {
  const server = createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = new KubeClient({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    skipTlsVerify: false,
    token: 't',
    source: 'a silent test server',
  });
  t.after(() => client.close());
  return client;
}
