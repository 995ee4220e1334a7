// The HTTP endpoints: /metrics for Prometheus, /healthz (the process serves), and /readyz (the
// caches are synced and Vault has given a valid token, on the leader and on a standby alike).

import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';

export interface Health {
  /** Undefined when ready, else the reason it is not. */
  notReady(): string | undefined;
  /** What a ready instance says (a standby says so); "ok" without it. */
  readyText?(): string;
}

export function parseListenAddress(text: string): { host: string | undefined; port: number } | undefined {
  const match = /^(?:\[?([^\]]*)\]?)?:(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || !(port >= 0 && port <= 65535)) return undefined;
  return { host: match[1] || undefined, port };
}

/** Serves the registries' metrics one after the other on /metrics; their names must not overlap. */
export function startHttpServer(
  address: { host: string | undefined; port: number },
  registries: readonly Registry[],
  health: Health,
): Promise<Server> {
  const contentType = registries[0]?.contentType ?? Registry.PROMETHEUS_CONTENT_TYPE;
  if (registries.some((registry) => registry.contentType !== contentType))
    throw new Error('the metrics registries must share one content type to be served as one');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      Promise.all(registries.map((registry) => registry.metrics())).then(
        (texts) => res.writeHead(200, { 'content-type': contentType }).end(texts.join('\n')),
        () => res.writeHead(500).end('metrics unavailable\n'),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const problem = health.notReady();
      res
        .writeHead(problem ? 503 : 200, { 'content-type': 'text/plain' })
        .end(`${problem ?? health.readyText?.() ?? 'ok'}\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve(server));
  });
}
