// The Kubernetes API as the operator calls it: @kubernetes/client-node's typed APIs for every
// write and single read (server-side apply, merge patches, Events, Leases, TokenRequests), raw
// JSON through the library's HTTP layer for lists (typed lists were measured at 1.5x the memory
// and 2x the CPU: every item becomes a tree of model objects only to be trimmed), and the
// library's Watch for watches. All of it over one KubeConfig (one connection pool, which counts
// every exchange) and one KubeHttpLibrary (rate limit, timeout, term, 429). No static middleware
// is configured: the library reverses a configuration's middleware array in place on every call,
// so two of them would swap order from one request to the next.

import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  HttpMethod,
  Observable,
  PatchStrategy,
  ServerConfiguration,
  Watch,
  createConfiguration,
  setHeaderOptions,
  type Configuration,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
import { KubeHttpLibrary, type KubeHttpOptions } from './http-library.ts';
import type { PooledKubeConfig } from './pooled-kube-config.ts';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;
export type WatchEventHandler = (type: string, object: unknown) => void;

export interface KubeApiOptions extends KubeHttpOptions {
  /**
   * A watch without a byte for this long ends with a TimeoutError (2 minutes: the apiserver sends
   * a bookmark about every minute, so only a dead connection stays this quiet; the library's
   * default of 30 s would end every quiet watch twice a minute).
   */
  readonly watchIdleMs?: number;
  /** Random in [0, 1): spreads the server-side watch timeouts. */
  readonly random?: () => number;
}

export interface KubeApi {
  readonly core: CoreV1Api;
  readonly customObjects: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;
  readonly apps: AppsV1Api;
  /** The apiserver URL. */
  readonly server: string;
  /** A GET of `path` answered as parsed JSON; a refusal throws the library's ApiException. */
  getJson(path: string, query: Query, signal?: AbortSignal): Promise<unknown>;
  /**
   * Starts a watch; `onEvent` gets every event, `done` is called once when it ends, with the
   * error that ended it (a TimeoutError when it went quiet) or undefined. Abort the controller to end it.
   */
  watch(
    path: string,
    query: Query,
    onEvent: WatchEventHandler,
    done: (error: unknown) => void,
  ): Promise<AbortController>;
}

/** Call options for a merge patch: the library's default patch content type is JSON Patch. */
export const mergePatch: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Call options for a server-side apply. */
export const applyPatch: ConfigurationOptions = setHeaderOptions(
  'Content-Type',
  PatchStrategy.ServerSideApply,
);

/** Call options that give one call a signal of its own (a Lease request's deadline, say). */
export function withCallSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
  };
}

/** The library's configuration for `kubeConfig`: its cluster, our HTTP library, no middleware. */
export function kubeConfiguration(kubeConfig: PooledKubeConfig, http: KubeHttpLibrary): Configuration {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    httpApi: http.httpApi,
    authMethods: { default: kubeConfig },
  });
}

export function kubeApi(kubeConfig: PooledKubeConfig, options: KubeApiOptions = {}): KubeApi {
  const configuration = kubeConfiguration(kubeConfig, new KubeHttpLibrary(options));
  const watcher = new Watch(kubeConfig);
  // The library keeps its idle timeout in a field of its own, 30 s unless changed.
  (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = options.watchIdleMs ?? 120_000;
  const random = options.random ?? Math.random;
  return {
    core: new CoreV1Api(configuration),
    customObjects: new CustomObjectsApi(configuration),
    coordination: new CoordinationV1Api(configuration),
    apps: new AppsV1Api(configuration),
    server: kubeConfig.getCurrentCluster()?.server ?? '',
    async getJson(path, query, signal) {
      const context = configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined) context.setQueryParam(key, String(value));
      }
      context.setHeaderParam('Accept', 'application/json');
      if (signal) context.setSignal(signal);
      await kubeConfig.applySecurityAuthentication(context);
      const response = await configuration.httpApi.send(context).toPromise();
      const text = await response.body.text();
      if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
        throw new ApiException(response.httpStatusCode, 'refused', text, response.headers);
      }
      return JSON.parse(text) as unknown;
    },
    async watch(path, query, onEvent, done) {
      await options.throttle?.(path);
      // Ended by the apiserver after 5 to 10 minutes, as client-go asks, with a bookmark first.
      const timeoutSeconds = Math.floor(300 * (1 + random()));
      // The caller's handle: ending the watch through it is an end, not a failure; any other
      // abort (undici's own is also an AbortError) is reported as the failure it is.
      const handle = new AbortController();
      const started = await watcher.watch(
        path,
        { ...query, timeoutSeconds, allowWatchBookmarks: true },
        (type, object) => onEvent(type, object),
        (error: unknown) => done(handle.signal.aborted ? undefined : (error ?? undefined)),
      );
      handle.signal.addEventListener('abort', () => started.abort(), { once: true });
      return handle;
    },
  };
}
