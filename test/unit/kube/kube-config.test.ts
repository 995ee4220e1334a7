import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../../../src/kube/kube-config.ts';

/** An apiserver stand-in that answers every request with a Namespace and counts connections. */
async function countingServer(t: TestContext): Promise<{ server: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }));
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
  };
}

function load(config: KubeConfig, server: string): KubeConfig {
  config.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

test('requests share one connection pool instead of one new connection each', async (t) => {
  const pooled = await countingServer(t);
  const config = load(new PooledKubeConfig(), pooled.server) as PooledKubeConfig;
  const api = config.makeApiClient(CoreV1Api);
  for (let i = 0; i < 20; i += 1) await api.readNamespace({ name: 'x' });
  assert.equal(config.dispatchers, 1);
  // undici may open a second connection while the first is settling into keep-alive; never 20.
  assert.ok(pooled.connections() <= 2, `${pooled.connections()} connections for 20 requests`);

  // What the library does by itself: the reason for the class.
  const plain = await countingServer(t);
  const unpooled = load(new KubeConfig(), plain.server).makeApiClient(CoreV1Api);
  for (let i = 0; i < 5; i += 1) await unpooled.readNamespace({ name: 'x' });
  assert.equal(plain.connections(), 5);
});
