// A small HTTP(S) client for the harness: it needs custom CAs and self-signed health endpoints,
// which the global fetch cannot be told about.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** PEM bundle to trust for https URLs. */
  readonly ca?: string;
  /** A client certificate and its key (PEM), for servers that ask for one (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
  /** Accept any certificate: only for health checks of components with self-signed serving certs. */
  readonly insecure?: boolean;
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export function http(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? 'GET',
        headers,
        timeout: options.timeoutMs ?? 10_000,
        ...(target.protocol === 'https:'
          ? { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: !options.insecure }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${req.method} ${target.pathname} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
