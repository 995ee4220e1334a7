// An "apiserver" on loopback that takes requests and never answers, as one behind a half-open
// connection would, with a KubeConfig pointing at it: for unit tests of cancellation.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';

/** Starts the server (closed when the test ends); `onRequest` sees each request it swallows. */
export async function silentApiserver(
  t: TestContext,
  onRequest: (request: IncomingMessage) => void,
): Promise<KubeConfig> {
  const server = createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}
