// The operator's Kubernetes client: JSON requests and watches over one keep-alive connection pool,
// on node:http(s). The operator makes a handful of calls (list, watch, apply and patch, create an
// Event, a Lease or a TokenRequest); a general client generated from the whole API cost more memory
// at rest (about 80 MiB of RSS to import) than the operator's caches at 1,000 definitions.
//
// Every request first waits for `throttle` (--kube-api-qps, --kube-api-burst), is sent again after
// the apiserver's Retry-After when it answers 429 (at most five times in all), gives up after
// `timeoutMs` or when its signal aborts, and turns an error answer into a KubeApiError that carries
// the status and the apiserver's Status object (never headers or the request body). A watch asks
// the apiserver to end it after 5 to 10 minutes (the apiserver sends a bookmark just before, so it
// resumes from a recent version), and ends with a TimeoutError after 2 minutes without a byte
// (bookmarks come every minute): a dead connection is noticed. Requests share at most 32
// connections; each watch has its own.

import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeConnection } from './connection.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export const contentTypes = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export interface KubeRequest {
  readonly method: Method;
  /** The path, each name already escaped with `segment`. */
  readonly path: string;
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

export type WatchEventHandler = (type: string, object: unknown) => void;

export class KubeApiError extends Error {
  /** The HTTP status; undefined when there was no answer. */
  readonly statusCode: number | undefined;
  /** The apiserver's Status object, when it sent one. */
  readonly body: unknown;
  /** The Retry-After of a 429, in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, statusCode: number | undefined, body: unknown, retryAfterMs?: number) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }
}

/** One path segment (a namespace, a name), escaped; "", "." and ".." would move the path. */
export function segment(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new Error(`"${value}" cannot be a name in a Kubernetes API path`);
  }
  return encodeURIComponent(value);
}

/** A request refused with 429 is sent at most this many times, waiting at most this long between. */
const maxAttempts = 5;
const retryAfterCapMs = 10_000;
/** Far above any object the operator reads; a list page of 500 Secrets of 1 MiB each is not. */
const maxAnswerBytes = 512 * 1024 * 1024;

export interface KubeClientOptions {
  /** Resolves when one more request may go (the client-side rate limit). */
  readonly throttle?: () => Promise<void>;
  /** Per request, watches excepted. */
  readonly timeoutMs?: number;
  /**
   * A watch without a byte for this long ends with a TimeoutError (2 minutes: the apiserver sends
   * a bookmark about every minute, so only a dead connection stays this quiet).
   */
  readonly watchIdleMs?: number;
  /** Random in [0, 1): spreads the server-side watch timeouts. */
  readonly random?: () => number;
  /** How often a token file is read again (a minute, as client-go does). */
  readonly tokenRereadMs?: number;
  /**
   * Told of every exchange, watches and retries included, as client-go counts them: the method
   * and the status code, or undefined when no answer came.
   */
  readonly onResponse?: (method: Method, status: number | undefined) => void;
}

export class KubeClient {
  readonly #connection: KubeConnection;
  readonly #options: KubeClientOptions;
  /** Requests: at most 32 connections, kept alive. */
  readonly #agent: HttpAgent;
  /** Watches: one connection each, for as long as the watch runs. */
  readonly #watchAgent: HttpAgent;
  readonly #https: boolean;
  #token: { value: string | undefined; readAt: number } | undefined;

  constructor(connection: KubeConnection, options: KubeClientOptions = {}) {
    this.#connection = connection;
    this.#options = options;
    this.#https = connection.server.startsWith('https:');
    const agent = (limits: { keepAlive: boolean; maxSockets?: number }): HttpAgent =>
      this.#https
        ? new HttpsAgent({
            ...limits,
            ...(connection.caPem ? { ca: connection.caPem } : {}),
            ...(connection.clientCertPem ? { cert: connection.clientCertPem } : {}),
            ...(connection.clientKeyPem ? { key: connection.clientKeyPem } : {}),
            ...(connection.tlsServerName ? { servername: connection.tlsServerName } : {}),
            rejectUnauthorized: !connection.skipTlsVerify,
          })
        : new HttpAgent(limits);
    this.#agent = agent({ keepAlive: true, maxSockets: 32 });
    this.#watchAgent = agent({ keepAlive: false });
  }

  get server(): string {
    return this.#connection.server;
  }

  /** Sends one request; answers the parsed JSON body. */
  async request<T = unknown>(call: KubeRequest): Promise<T> {
    // 429: the apiserver (API Priority and Fairness) refused the request before doing anything,
    // so it is safe to send again, whatever the verb, after the Retry-After it asks for.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#requestOnce<T>(call);
      } catch (error) {
        if (!(error instanceof KubeApiError) || error.statusCode !== 429 || attempt >= maxAttempts)
          throw error;
        await sleep(Math.min(retryAfterCapMs, error.retryAfterMs ?? 1_000), call.signal);
      }
    }
  }

  async #requestOnce<T>(call: KubeRequest): Promise<T> {
    call.signal?.throwIfAborted();
    await this.#options.throttle?.();
    call.signal?.throwIfAborted();
    // A timer of our own, cleared when the answer is in: AbortSignal.timeout would keep every
    // request's signals alive for the whole timeout.
    const timeout = new AbortController();
    const timeoutMs = this.#options.timeoutMs ?? 60_000;
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    const signal = call.signal ? AbortSignal.any([timeout.signal, call.signal]) : timeout.signal;
    try {
      const response = await this.#send(call, signal, this.#agent);
      const text = await readBody(response, signal);
      const status = response.statusCode ?? 0;
      const body = parseJson(text);
      if (status >= 400) throw apiError(call, status, body, response.headers['retry-after']);
      return body as T;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Starts a watch; `onEvent` gets every event, `done` is called once when it ends, with the
   * error that ended it (a TimeoutError when it went quiet) or undefined. Abort the controller to end it.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: WatchEventHandler,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    await this.#options.throttle?.();
    const controller = new AbortController();
    let ended = false;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const end = (error: unknown): void => {
      if (ended) return;
      ended = true;
      clearTimeout(idle);
      controller.abort();
      done(error);
    };
    const resetIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(
        () => end(new DOMException('the watch went quiet', 'TimeoutError')),
        this.#options.watchIdleMs ?? 120_000,
      );
      idle.unref();
    };
    resetIdle();
    controller.signal.addEventListener('abort', () => end(undefined), { once: true });
    // Ended by the apiserver after 5 to 10 minutes, as client-go asks, with a bookmark first.
    const timeoutSeconds = Math.floor(300 * (1 + (this.#options.random ?? Math.random)()));
    const call: KubeRequest = { method: 'GET', path, query: { ...query, timeoutSeconds, watch: true } };
    this.#send(call, controller.signal, this.#watchAgent).then(async (response) => {
      if ((response.statusCode ?? 0) !== 200) {
        const body = parseJson(await readBody(response, controller.signal).catch(() => ''));
        end(apiError(call, response.statusCode ?? 0, body));
        return;
      }
      resetIdle();
      let pending = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        resetIdle();
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline >= 0 && !ended) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          newline = pending.indexOf('\n');
          if (line.trim() === '') continue;
          const event = parseJson(line) as { type?: unknown; object?: unknown } | undefined;
          if (event && typeof event.type === 'string') onEvent(event.type, event.object);
        }
      });
      response.on('error', end);
      response.on('close', () => end(undefined));
    }, end);
    return controller;
  }

  /** Closes idle connections; open watches end when aborted. */
  close(): void {
    this.#agent.destroy();
    this.#watchAgent.destroy();
  }

  #send(call: KubeRequest, signal: AbortSignal, agent: HttpAgent): Promise<IncomingMessage> {
    const url = new URL(this.#connection.server + call.path);
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
    const headers: Record<string, string | string[]> = { accept: contentTypes.json };
    const token = this.#bearer();
    if (token) headers['authorization'] = `Bearer ${token}`;
    const { impersonate } = this.#connection;
    if (impersonate?.user) headers['impersonate-user'] = impersonate.user;
    if (impersonate?.uid) headers['impersonate-uid'] = impersonate.uid;
    if (impersonate?.groups?.length) headers['impersonate-group'] = [...impersonate.groups];
    if (payload) {
      headers['content-type'] = call.contentType ?? contentTypes.json;
      headers['content-length'] = String(payload.length);
    }
    const send = this.#https ? httpsRequest : httpRequest;
    const observe = this.#options.onResponse;
    let answered = false;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method: call.method, headers, agent, signal }, (response) => {
        answered = true;
        observe?.(call.method, response.statusCode);
        resolve(response);
      });
      req.on('error', (error) => {
        // An error after the answer (the body cut off, say) is not a second exchange.
        if (!answered) observe?.(call.method, undefined);
        reject(
          signal.aborted
            ? abortReason(signal)
            : new KubeApiError(`${call.method} ${call.path}: ${error.message}`, undefined, undefined),
        );
      });
      req.end(payload);
    });
  }

  #bearer(): string | undefined {
    const { token, tokenFile } = this.#connection;
    if (token) return token;
    if (!tokenFile) return undefined;
    const now = Date.now();
    if (!this.#token || now - this.#token.readAt >= (this.#options.tokenRereadMs ?? 60_000)) {
      let value: string | undefined;
      try {
        value = readFileSync(tokenFile, 'utf8').trim() || undefined;
      } catch {
        // Being rotated: keep the last token until the file is back.
        value = this.#token?.value;
      }
      this.#token = { value, readAt: now };
    }
    return this.#token.value;
  }
}

function readBody(response: IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxAnswerBytes) {
        response.destroy(new Error(`the answer is larger than ${maxAnswerBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', (error) => reject(signal.aborted ? abortReason(signal) : error));
    response.on('aborted', () =>
      reject(signal.aborted ? abortReason(signal) : new Error('the answer was cut off')),
    );
  });
}

/** Why a signal aborted, as an Error (a timeout's is a DOMException named TimeoutError). */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the request was aborted');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function apiError(call: KubeRequest, status: number, body: unknown, retryAfter?: string): KubeApiError {
  const message = (body as { message?: unknown } | undefined)?.message;
  const seconds = retryAfter === undefined ? Number.NaN : Number(retryAfter);
  return new KubeApiError(
    `${call.method} ${call.path} answered ${status}${typeof message === 'string' ? `: ${message.slice(0, 300)}` : ''}`,
    status,
    body,
    Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined,
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const done = (): void => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    const abort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
