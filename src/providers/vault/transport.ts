// node-vault's transport: the one place that talks HTTP to Vault, reached only through the request
// function node-vault is given (request-function.ts), which has checked the URI node-vault built.
// A request path arrives as decoded segments and each is checked and percent-encoded here, once;
// the URL is then parsed back and must come out exactly as built, so no URL rule (dot segments,
// backslashes, pre-encoded dots) can turn a KV read into another endpoint. Requests go out through
// node:http(s) with the path as built: nothing in between normalises, logs or follows it elsewhere.
// Every call carries its own token, a timeout and, when given, the caller's AbortSignal.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { segmentProblem } from '../../api/vault-path.ts';
import { ProviderError } from '../errors.ts';
import type { RequestPriority } from '../../rate-limit/rate-limiter.ts';

export type VaultOperation =
  | 'read'
  | 'mounts'
  | 'login'
  | 'renew'
  | 'lookup'
  | 'revoke'
  | 'health'
  /** A PKI issue or a dynamic read: each one makes a new certificate or user. */
  | 'issue'
  | 'lease-renew'
  | 'lease-revoke';

export interface VaultCall {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** The API path below /v1/ as raw segments, each sent percent-encoded: ['secret', 'data', 'app db']. */
  readonly path: readonly string[];
  readonly query?: Readonly<Record<string, string>>;
  readonly operation: VaultOperation;
  readonly token?: string;
  /** X-Vault-Namespace (--vault.namespace), as node-vault sets it. */
  readonly namespace?: string;
  readonly body?: Readonly<Record<string, unknown>>;
  /** Aborts the request (shutdown, lost leadership); the timeout applies as well. */
  readonly signal?: AbortSignal;
  /** Under the rate limit, a refresh waits behind everything else (default first). */
  readonly priority?: RequestPriority;
}

export interface VaultReply {
  readonly status: number;
  readonly body: unknown;
}

/** Answers whatever HTTP status Vault gives; rejects with ProviderError only when there is no answer. */
export interface VaultTransport {
  send(call: VaultCall): Promise<VaultReply>;
}

export interface TransportOptions {
  readonly address: string;
  readonly timeoutMs: number;
  readonly caPem?: string;
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  readonly skipVerify: boolean;
}

/** A Vault answer larger than this is refused: a Kubernetes Secret holds at most 1 MiB. */
const maxResponseBytes = 8 * 1024 * 1024;
const maxRedirects = 3;

/** The request target for `call` below `base` (the address's own path, usually empty). */
export function requestTarget(base: string, call: Pick<VaultCall, 'path' | 'query'>): string {
  for (const segment of call.path) {
    const problem = segmentProblem(segment);
    if (problem) {
      throw new ProviderError(
        'InvalidSpec',
        `refused to send a Vault request: its path ${problem} (nothing was sent)`,
      );
    }
  }
  const path = `${base}/v1/${call.path.map(encodeURIComponent).join('/')}`;
  const query = call.query ? new URLSearchParams(call.query).toString() : '';
  return query ? `${path}?${query}` : path;
}

/**
 * The address parsed once: scheme, host and any path prefix. A URL with credentials, a query or
 * a fragment is a configuration mistake, refused here so it cannot leak into requests.
 */
function parseAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ProviderError('VaultUnavailable', `the Vault address ${JSON.stringify(address)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderError('VaultUnavailable', `the Vault address must start with http:// or https://`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ProviderError(
      'VaultUnavailable',
      'the Vault address must not carry credentials, a query or a fragment',
    );
  }
  return url;
}

function readBody(response: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxResponseBytes) {
        // Vault answered: the secret is too big for a Secret, which is no sign of Vault's health.
        response.destroy(
          new ProviderError(
            'InvalidValue',
            `Vault's answer is larger than ${maxResponseBytes} bytes; a Kubernetes Secret holds at most 1 MiB`,
            response.statusCode,
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    response.on('error', reject);
    response.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return resolve(undefined);
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        // A proxy's HTML error page: the status still says what happened.
        resolve(undefined);
      }
    });
  });
}

export function createHttpTransport(options: TransportOptions): VaultTransport {
  const base = parseAddress(options.address);
  const secure = base.protocol === 'https:';
  const prefix = base.pathname.replace(/\/+$/, '');
  // One agent per scheme: a redirect from an http address to an https node needs the TLS one.
  const httpsAgent = new HttpsAgent({
    keepAlive: true,
    rejectUnauthorized: !options.skipVerify,
    ...(options.caPem ? { ca: options.caPem } : {}),
    ...(options.clientCertPem ? { cert: options.clientCertPem } : {}),
    ...(options.clientKeyPem ? { key: options.clientKeyPem } : {}),
  });
  const httpAgent = new HttpAgent({ keepAlive: true });
  /**
   * Where a redirect may take the token and the body: the same path, and either the same origin
   * or another one over verified TLS (a standby node sending us to the active one). Never to
   * plain http elsewhere, never from https to http, never with --vault.skip-verify.
   */
  const mayFollow = (from: URL, next: URL, target: string): boolean => {
    if (`${next.pathname}${next.search}` !== target) return false;
    if (secure && next.protocol !== 'https:') return false;
    if (next.origin === from.origin) return true;
    return next.protocol === 'https:' && !options.skipVerify;
  };
  const shown = `${base.protocol}//${base.host}${prefix}`;

  const once = (
    call: VaultCall,
    origin: URL,
    target: string,
    signal: AbortSignal,
  ): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const payload = call.body ? JSON.stringify(call.body) : undefined;
      const headers: Record<string, string> = { accept: 'application/json' };
      if (call.token) headers['x-vault-token'] = call.token;
      if (call.namespace) headers['x-vault-namespace'] = call.namespace;
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(payload));
      }
      const send = origin.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        {
          protocol: origin.protocol,
          hostname: origin.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: origin.port,
          method: call.method,
          path: target,
          headers,
          agent: origin.protocol === 'https:' ? httpsAgent : httpAgent,
          signal,
        },
        resolve,
      );
      req.on('error', reject);
      req.end(payload);
    });

  return {
    async send(call) {
      const target = requestTarget(prefix, call);
      // What is parsed back must be what was built: nothing was normalised away.
      const parsed = new URL(target, base);
      if (`${parsed.pathname}${parsed.search}` !== target) {
        throw new ProviderError(
          'InvalidSpec',
          'refused to send a Vault request whose URL would be rewritten',
        );
      }
      const signal = call.signal
        ? AbortSignal.any([call.signal, AbortSignal.timeout(options.timeoutMs)])
        : AbortSignal.timeout(options.timeoutMs);
      let origin = base;
      try {
        for (let hop = 0; ; hop += 1) {
          const response = await once(call, origin, target, signal);
          const status = response.statusCode ?? 0;
          const location = response.headers.location;
          // A standby node redirects to the active one (see mayFollow).
          if ((status === 307 || status === 308) && location && hop < maxRedirects) {
            response.resume();
            const next = new URL(location, origin);
            if (!mayFollow(origin, next, target)) {
              throw new ProviderError(
                'VaultUnavailable',
                `Vault redirected a request elsewhere (${status}); only the same path, on the same address or on another node over verified TLS, is followed`,
              );
            }
            origin = next;
            continue;
          }
          return { status, body: await readBody(response) };
        }
      } catch (error) {
        if (error instanceof ProviderError) throw error;
        const why = call.signal?.aborted
          ? 'the request was cancelled'
          : signal.aborted
            ? `no answer within ${options.timeoutMs}ms`
            : error instanceof Error
              ? error.message
              : String(error);
        throw new ProviderError('VaultUnavailable', `cannot reach Vault at ${shown}: ${why}`);
      }
    },
  };
}
