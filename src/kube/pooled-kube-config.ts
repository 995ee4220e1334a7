// The KubeConfig every Kubernetes call of the operator goes through, with two things the stock
// one lacks, both put in at its extension points:
//
// - One connection pool per cluster and identity. KubeConfig.createDispatcher builds a new undici
//   Agent for every request, so every request opened a new TLS connection with a full handshake.
//   Here the dispatcher is made once per set of connection options and reused; new credentials
//   (an exec plugin's fresh client certificate) get a new one, and the old one is closed once
//   its requests are done.
// - Impersonation of a UID, groups and extra fields (kubeconfig `as-uid`, `as-groups`,
//   `as-user-extra`), which the library drops: the dispatcher adds their headers, one line per
//   value, to every request and watch alike (the library sends `as` itself, as Impersonate-User).
// - Counting every exchange as client-go's rest_client_requests_total does: the dispatcher sees
//   each answer's status, watches' included (the library's Watch sends through the dispatcher but
//   not through the HTTP library), and each request that got no answer, once.

import { KubeConfig, type Cluster } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

/** What a kubeconfig user asks to act as, beyond `as` (which the library handles). */
export interface Impersonation {
  readonly uid?: string;
  readonly groups: readonly string[];
  /** as-user-extra: key -> values. */
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

type MakeDispatcher = (cluster: Cluster | null, agentOptions: object) => Dispatcher | undefined;

/** What of an Agent's options makes a connection different: the TLS identity and trust. */
const tlsKeys = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
type TlsOptions = Partial<Record<(typeof tlsKeys)[number], unknown>>;

function tlsOf(agentOptions: object): TlsOptions {
  const given = agentOptions as TlsOptions;
  return Object.fromEntries(tlsKeys.map((key) => [key, given[key]]));
}

function sameTls(a: TlsOptions, b: TlsOptions): boolean {
  return tlsKeys.every((key) => {
    const [x, y] = [a[key], b[key]];
    return Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
  });
}

/** Told of every exchange: the method, and the status or undefined when no answer came. */
export type ExchangeObserver = (method: string, status: number | undefined) => void;

/** Forwards every event to `handler`, telling `observe` of the answer's status, or of none, once. */
function counted(
  handler: Dispatcher.DispatchHandler,
  method: string,
  observe: (method: string, status: number | undefined) => void,
): Dispatcher.DispatchHandler {
  let told = false;
  const tell = (status: number | undefined): void => {
    if (told) return;
    told = true;
    observe(method, status);
  };
  return {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onRequestUpgrade: (controller, status, headers, socket) =>
      handler.onRequestUpgrade?.(controller, status, headers, socket),
    onResponseStart: (controller, status, headers, message) => {
      if (status >= 200) tell(status);
      return handler.onResponseStart?.(controller, status, headers, message);
    },
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, error) => {
      tell(undefined);
      return handler.onResponseError?.(controller, error);
    },
  };
}

/** The headers of one request with `more` added, whatever shape undici was given them in. */
function withHeaders(
  headers: Dispatcher.DispatchOptions['headers'],
  more: readonly (readonly [string, string])[],
): string[] {
  const flat: string[] = [];
  const add = (name: string, value: unknown): void => {
    if (Array.isArray(value)) for (const v of value as unknown[]) add(name, v);
    else if (typeof value === 'string') flat.push(name, value);
    else if (typeof value === 'number' || typeof value === 'boolean') flat.push(name, `${value}`);
  };
  if (Array.isArray(headers)) {
    const list = headers as unknown[];
    for (let i = 0; i + 1 < list.length; i += 2) add(String(list[i]), list[i + 1]);
  } else if (headers && typeof headers === 'object') {
    const entries =
      Symbol.iterator in headers
        ? [...(headers as Iterable<[string, unknown]>)]
        : Object.entries(headers as Record<string, unknown>);
    for (const [name, value] of entries) add(name, value);
  }
  for (const [name, value] of more) flat.push(name, value);
  return flat;
}

function impersonationHeaders(who: Impersonation): [string, string][] {
  return [
    ...(who.uid ? [['Impersonate-Uid', who.uid] as [string, string]] : []),
    ...who.groups.map((group): [string, string] => ['Impersonate-Group', group]),
    ...Object.entries(who.extra).flatMap(([key, values]) =>
      values.map((value): [string, string] => [`Impersonate-Extra-${encodeURIComponent(key)}`, value]),
    ),
  ];
}

export class PooledKubeConfig extends KubeConfig {
  /** By cluster and user: the pool, and the TLS options it was made with. */
  readonly #pools = new Map<string, { readonly tls: TlsOptions; readonly dispatcher: Dispatcher }>();
  /** By kubeconfig user name. */
  readonly #impersonation = new Map<string, Impersonation>();
  #observer: ExchangeObserver | undefined;
  #unauthorized: ((user: string) => void) | undefined;

  constructor() {
    super();
    const self = this as unknown as { createDispatcher?: MakeDispatcher };
    const make = self.createDispatcher;
    if (typeof make !== 'function') {
      throw new Error(
        '@kubernetes/client-node has no createDispatcher: the connection pooling needs updating',
      );
    }
    self.createDispatcher = (cluster, agentOptions) => this.#pooled(make, cluster, agentOptions);
  }

  /** Who `user` impersonates beyond `as`; set by the loader from the kubeconfig. */
  impersonate(user: string, who: Impersonation): void {
    this.#impersonation.set(user, who);
  }

  /** Tells `observer` of every exchange from now on. */
  observeExchanges(observer: ExchangeObserver): void {
    this.#observer = observer;
  }

  /** Tells `listener` of each 401: the user's credential (an exec plugin's) is no good any more. */
  onUnauthorized(listener: (user: string) => void): void {
    this.#unauthorized = listener;
  }

  /** How many connection pools exist: one per cluster and identity. */
  get pools(): number {
    return this.#pools.size;
  }

  /**
   * Closes every pool: requests under way get `graceMs` to finish, then the pools are destroyed.
   * undici's close waits for every queued request, and one waiting for a connection to a
   * silent apiserver waits out its connect timeout (10 s) even once its signal aborted.
   */
  async close(graceMs = 1_000): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    const closed = Promise.all(all.map((pool) => pool.dispatcher.close().catch(() => undefined)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    try {
      if ((await Promise.race([closed, late])) !== 'late') return;
    } finally {
      clearTimeout(timer);
    }
    await Promise.all(all.map((pool) => pool.dispatcher.destroy().catch(() => undefined)));
  }

  /**
   * The pool for these options: the library's mapping of them, on HTTP/1.1. undici would speak
   * HTTP/2 where the apiserver offers it, and at 10,000 definitions that held 34 MiB more
   * resident memory for no gain in time or CPU (README, The libraries). Proxies stay the library's.
   */
  #base(make: MakeDispatcher, cluster: Cluster | null, agentOptions: object): Dispatcher {
    const mapped = this.createDispatcherOptions(cluster, agentOptions);
    if (mapped.type === 'agent')
      return new Agent({ connect: mapped.connect as NonNullable<Agent.Options['connect']>, allowH2: false });
    if (mapped.type === 'none') return new Agent({ allowH2: false });
    return make.call(this, cluster, agentOptions) ?? new Agent({ allowH2: false });
  }

  #pooled(make: MakeDispatcher, cluster: Cluster | null, agentOptions: object): Dispatcher {
    const user = this.getCurrentUser()?.name ?? '';
    const identity = `${cluster?.name ?? ''}\u0000${cluster?.server ?? ''}\u0000${user}`;
    const tls = tlsOf(agentOptions);
    const known = this.#pools.get(identity);
    // Compared, not hashed: this runs for every request, and the certificates are fresh copies each time.
    if (known && sameTls(known.tls, tls)) return known.dispatcher;
    // New credentials for this identity: the old pool is closed once its requests are done.
    if (known) void known.dispatcher.close().catch(() => undefined);
    const base = this.#base(make, cluster, agentOptions);
    const who = this.#impersonation.get(user);
    const extra = who ? impersonationHeaders(who) : [];
    const dispatcher = base.compose((dispatch) => (opts, handler) => {
      const request = extra.length === 0 ? opts : { ...opts, headers: withHeaders(opts.headers, extra) };
      return dispatch(
        request,
        counted(handler, opts.method, (method, status) => {
          if (status === 401) this.#unauthorized?.(user);
          this.#observer?.(method, status);
        }),
      );
    });
    this.#pools.set(identity, { tls, dispatcher });
    return dispatcher;
  }
}
