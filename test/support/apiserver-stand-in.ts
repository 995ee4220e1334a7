// An apiserver stand-in on loopback for unit tests of the Kubernetes client: it records every
// request (header lines as sent, one per value) and connection, and answers with `answer`. The
// operator's client reaches it through a real kubeconfig file and the real loader.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { kubeApi, type KubeApi, type KubeApiOptions } from '../../src/kube/kube-api.ts';
import { loadKubeConfig } from '../../src/kube/kubeconfig.ts';
import type { ExchangeObserver } from '../../src/kube/pooled-kube-config.ts';

export interface Seen {
  readonly method: string;
  readonly url: string;
  /** Every header line as sent: a header sent twice has two values. */
  readonly headers: Readonly<Record<string, string[]>>;
  readonly body: string;
}

export interface StandIn {
  readonly server: string;
  readonly seen: Seen[];
  connections(): number;
  /** A kubeconfig file for this server with `user`; plain http, so TLS verification is skipped. */
  kubeconfig(user?: Record<string, unknown>, cluster?: Record<string, unknown>): Promise<string>;
}

export async function apiserverStandIn(
  t: TestContext,
  answer: (seen: Seen, res: ServerResponse, req: IncomingMessage) => void,
): Promise<StandIn> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const headers = req.headersDistinct as Record<string, string[]>;
      const request = { method: req.method ?? '', url: req.url ?? '', headers, body };
      seen.push(request);
      answer(request, res, req);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(join(tmpdir(), 'apiserver-stand-in-'));
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let files = 0;
  return {
    server: address,
    seen,
    connections: () => connections,
    async kubeconfig(user = { token: 'the-token' }, cluster = {}) {
      files += 1;
      const file = join(dir, `config-${files}`);
      await writeFile(
        file,
        JSON.stringify({
          'current-context': 'test',
          contexts: [{ name: 'test', context: { cluster: 'stand-in', user: 'u' } }],
          clusters: [
            { name: 'stand-in', cluster: { server: address, 'insecure-skip-tls-verify': true, ...cluster } },
          ],
          users: [{ name: 'u', user }],
        }),
      );
      return file;
    },
  };
}

/** The operator's client for `standIn`, closed when the test ends; `observe` sees every exchange. */
export async function clientFor(
  t: TestContext,
  standIn: StandIn,
  options: KubeApiOptions & { readonly observe?: ExchangeObserver } = {},
  user?: Record<string, unknown>,
): Promise<KubeApi> {
  const { kubeConfig } = loadKubeConfig({ kubeconfig: await standIn.kubeconfig(user) });
  t.after(() => kubeConfig.close());
  if (options.observe) kubeConfig.observeExchanges(options.observe);
  return kubeApi(kubeConfig, options);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function waitUntil(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
