// The HttpLibrary @kubernetes/client-node sends every typed call and raw read through (given to
// createConfiguration): the one place where a Kubernetes request waits for the client-side rate
// limit (--kube-api-qps, --kube-api-burst), gives up after its timeout, when its own signal aborts
// or when the leadership term ends, is sent again after the apiserver's Retry-After when it
// answers 429 (at most five times in all: API Priority and Fairness refused it before doing
// anything, so any verb is safe to repeat). It sends with undici's request() on the dispatcher the
// KubeConfig chose (one pool per cluster and identity, which also counts every exchange), and
// refuses answers too large to be anything the operator reads.

import {
  ResponseContext,
  wrapHttpLibrary,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';
import { abandonOnAbort, type SignalSource } from './cancel.ts';

export interface KubeHttpOptions {
  /** Resolves when one more request may go (the client-side rate limit); `path`: the URL's. */
  readonly throttle?: (path: string) => Promise<void>;
  /** Per request; default a minute. */
  readonly timeoutMs?: number;
  /** The signal the current work runs under (the leadership term), read as each request starts. */
  readonly signal?: SignalSource;
  /** Sent as User-Agent unless the request names one itself. */
  readonly userAgent?: string;
}

/** No answer: a timeout, an abort, a refused connection. Never carries headers or a body. */
export class KubeRequestError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeRequestError';
  }
}

/** A request refused with 429 is sent at most this many times, waiting at most this long between. */
const maxAttempts = 5;
const retryAfterCapMs = 10_000;
/** Far above any object the operator reads; a list page of 500 Secrets of 1 MiB each is not. */
export const maxAnswerBytes = 512 * 1024 * 1024;

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the request was aborted');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const abort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    timer.unref();
    signal?.addEventListener('abort', abort, { once: true });
  });
}

async function readAll(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > maxAnswerBytes) {
      body.destroy();
      throw new KubeRequestError(`the answer is larger than ${maxAnswerBytes} bytes`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

function flatHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

export class KubeHttpLibrary {
  readonly #options: KubeHttpOptions;

  constructor(options: KubeHttpOptions = {}) {
    this.#options = options;
  }

  /** This, as the Observable-based HttpLibrary createConfiguration takes. */
  get httpApi(): HttpLibrary {
    return wrapHttpLibrary(this);
  }

  async send(context: RequestContext): Promise<ResponseContext> {
    for (let attempt = 1; ; attempt += 1) {
      const answer = await this.#once(context);
      if (answer.httpStatusCode !== 429 || attempt >= maxAttempts) return answer;
      const seconds = Number(answer.headers['retry-after']);
      const waitMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1_000;
      await sleep(Math.min(retryAfterCapMs, waitMs), this.#signal(context));
    }
  }

  /** The request's own signal (a caller's, say a stopping informer's) and the work's, together. */
  #signal(context: RequestContext): AbortSignal | undefined {
    const own = context.getSignal();
    const work = this.#options.signal?.();
    return own && work ? AbortSignal.any([own, work]) : (own ?? work);
  }

  #headers(context: RequestContext): Record<string, string> {
    const headers = context.getHeaders();
    const { userAgent } = this.#options;
    const named = Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent');
    return userAgent === undefined || named ? headers : { ...headers, 'User-Agent': userAgent };
  }

  async #once(context: RequestContext): Promise<ResponseContext> {
    const method = context.getHttpMethod();
    const url = new URL(context.getUrl());
    const outer = this.#signal(context);
    outer?.throwIfAborted();
    await this.#options.throttle?.(url.pathname);
    outer?.throwIfAborted();
    // A timer of our own, cleared when the answer is in: AbortSignal.timeout would keep every
    // request's signals alive for the whole timeout.
    const timeoutMs = this.#options.timeoutMs ?? 60_000;
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    const signal = outer ? AbortSignal.any([timeout.signal, outer]) : timeout.signal;
    try {
      const body = context.getBody();
      const pending = request(url, {
        method,
        headers: this.#headers(context),
        ...(typeof body === 'string' ? { body } : {}),
        ...(context.getDispatcher() ? { dispatcher: context.getDispatcher() as Dispatcher } : {}),
        signal,
      });
      // undici sees an abort only once the request has a connection: one still connecting to a
      // silent apiserver would wait out the connect timeout (10 s) whatever its signal says.
      const answer = await abandonOnAbort(pending, signal);
      const bytes = await readAll(answer.body);
      return new ResponseContext(answer.statusCode, flatHeaders(answer.headers), {
        text: async () => bytes.toString('utf8'),
        binary: async () => bytes,
        stream: () => null,
      });
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      if (error instanceof KubeRequestError) throw error;
      const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new KubeRequestError(`${method} ${url.pathname}: ${why}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
