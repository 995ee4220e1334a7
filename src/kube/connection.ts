// Where the apiserver is and how to prove who we are: read from a kubeconfig file (--kubeconfig,
// else the files of $KUBECONFIG that exist, else ~/.kube/config outside a Pod) or, inside a Pod,
// from the service account Kubernetes mounts. Several $KUBECONFIG files are merged as kubectl merges them:
// the first file to name a context, cluster or user wins, and so does the first current-context.
// Understood: a server, its CA (or insecure-skip-tls-verify), tls-server-name, a bearer token, a
// token file or a client certificate, and impersonation (as, as-uid, as-groups). Exec plugins,
// auth providers, basic auth, proxy-url and as-user-extra are refused with a message that says
// so: a setting is never silently ignored.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface KubeConnection {
  /** https://host:port (or http:// for a local test server), without a trailing slash. */
  readonly server: string;
  readonly caPem?: string;
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  readonly skipTlsVerify: boolean;
  /** The name to verify the server's certificate against, when not the server's host. */
  readonly tlsServerName?: string;
  /** Act as another identity (Impersonate-* headers). */
  readonly impersonate?: {
    readonly user?: string;
    readonly uid?: string;
    readonly groups?: readonly string[];
  };
  /** A fixed bearer token, or a file read again every minute (a projected token rotates). */
  readonly token?: string;
  readonly tokenFile?: string;
  /** For messages: where this came from. */
  readonly source: string;
}

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadOptions {
  /** --kubeconfig */
  readonly kubeconfig?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly home?: string;
  /** Where the service account is mounted; for tests. */
  readonly serviceAccountDir?: string;
}

/**
 * The connection, found as controller-runtime (and so the original) finds it: --kubeconfig; else
 * the files KUBECONFIG lists, merged; else, without KUBECONFIG, the Pod's service account, then
 * ~/.kube/config.
 */
export function loadKubeConnection(options: LoadOptions = {}): KubeConnection {
  const env = options.env ?? process.env;
  if (options.kubeconfig) return fromKubeconfigFiles([options.kubeconfig]);
  const listed = (env['KUBECONFIG'] ?? '').split(':').filter((path) => path !== '');
  if (listed.length > 0) {
    const existing = listed.filter((path) => existsSync(path));
    if (existing.length === 0)
      throw new KubeConfigError(`none of the files KUBECONFIG lists exists: ${listed.join(', ')}`);
    return fromKubeconfigFiles(existing);
  }
  const home = join(options.home ?? homedir(), '.kube', 'config');
  try {
    return inCluster(env, options.serviceAccountDir ?? serviceAccountDir);
  } catch (error) {
    if (existsSync(home)) return fromKubeconfigFiles([home]);
    throw error;
  }
}

function inCluster(env: Readonly<Record<string, string | undefined>>, dir: string): KubeConnection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) {
    throw new KubeConfigError(
      'no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a Pod',
    );
  }
  const tokenFile = join(dir, 'token');
  if (!existsSync(tokenFile)) {
    throw new KubeConfigError(`running in a Pod, but the service account token ${tokenFile} is missing`);
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    caPem: readText(join(dir, 'ca.crt'), 'the service account CA'),
    skipTlsVerify: false,
    tokenFile,
    source: 'the in-cluster service account',
  };
}

type Named<T> = { name?: unknown } & T;
type Entry = Record<string, unknown>;

/** One entry of a merged list, with the folder of the file it came from (relative paths). */
type Sourced = Named<Entry> & { readonly base: string };

function readKubeconfig(path: string): Entry {
  try {
    return (parse(readText(path, 'the kubeconfig'), { maxAliasCount: 100 }) ?? {}) as Entry;
  } catch (error) {
    if (error instanceof KubeConfigError) throw error;
    throw new KubeConfigError(`the kubeconfig ${path} is not valid YAML: ${firstLine(error)}`);
  }
}

function fromKubeconfigFiles(paths: readonly string[]): KubeConnection {
  const lists: Record<'contexts' | 'clusters' | 'users', Sourced[]> = {
    contexts: [],
    clusters: [],
    users: [],
  };
  let contextName: unknown;
  for (const path of paths) {
    const config = readKubeconfig(path);
    if (typeof contextName !== 'string' || contextName === '') contextName = config['current-context'];
    for (const kind of ['contexts', 'clusters', 'users'] as const) {
      const list = config[kind];
      if (!Array.isArray(list)) continue;
      for (const entry of list as Named<Entry>[]) {
        if (entry && typeof entry === 'object') lists[kind].push({ ...entry, base: dirname(path) });
      }
    }
  }
  const where = `kubeconfig ${paths.join(':')}`;
  if (typeof contextName !== 'string' || contextName === '') {
    throw new KubeConfigError(`${where} has no current-context`);
  }
  const context = pick(lists.contexts, contextName, 'context', where)['context'] as Entry | undefined;
  const clusterName = context?.['cluster'];
  const userName = context?.['user'];
  if (typeof clusterName !== 'string') {
    throw new KubeConfigError(`${where}: context ${contextName} names no cluster`);
  }
  const clusterEntry = pick(lists.clusters, clusterName, 'cluster', where);
  const cluster = (clusterEntry['cluster'] ?? {}) as Entry;
  const userEntry = typeof userName === 'string' ? pick(lists.users, userName, 'user', where) : undefined;
  const user = (userEntry?.['user'] ?? {}) as Entry;
  const server = cluster['server'];
  if (typeof server !== 'string' || !/^https?:\/\/[^/]+/.test(server)) {
    throw new KubeConfigError(`${where}: cluster ${clusterName} has no https:// server`);
  }
  if (/^https?:\/\/[^/?#]*@/.test(server)) {
    // Basic auth in the URL: refused like username and password, and never logged.
    throw new KubeConfigError(
      `${where}: the server of cluster ${clusterName} carries a user or password, which this operator does not support; use a token, a token file or a client certificate`,
    );
  }
  for (const unsupported of ['exec', 'auth-provider', 'username', 'password', 'as-user-extra'] as const) {
    if (user[unsupported] !== undefined) {
      throw new KubeConfigError(
        `${where}: user ${String(userName)} uses ${unsupported}, which this operator does not support; use a token, a token file or a client certificate`,
      );
    }
  }
  if (cluster['proxy-url'] !== undefined) {
    throw new KubeConfigError(
      `${where}: cluster ${clusterName} uses proxy-url, which this operator does not support; reach the apiserver directly`,
    );
  }
  const material = (
    dataKey: string,
    fileKey: string,
    what: string,
    from: Entry,
    base: string,
  ): string | undefined => {
    const data = from[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
    const file = from[fileKey];
    if (typeof file === 'string' && file !== '') return readText(resolve(base, file), what);
    return undefined;
  };
  // Relative paths are relative to the file that holds the entry.
  const userBase = userEntry?.base ?? clusterEntry.base;
  const caPem = material(
    'certificate-authority-data',
    'certificate-authority',
    'the cluster CA',
    cluster,
    clusterEntry.base,
  );
  const clientCertPem = material(
    'client-certificate-data',
    'client-certificate',
    'the client certificate',
    user,
    userBase,
  );
  const clientKeyPem = material('client-key-data', 'client-key', 'the client key', user, userBase);
  if ((clientCertPem === undefined) !== (clientKeyPem === undefined)) {
    throw new KubeConfigError(`${where}: user ${String(userName)} has a client certificate or key, not both`);
  }
  const token = typeof user['token'] === 'string' && user['token'] !== '' ? user['token'] : undefined;
  const tokenFile =
    typeof user['tokenFile'] === 'string' && user['tokenFile'] !== ''
      ? resolve(userBase, user['tokenFile'])
      : undefined;
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;
  const groups = Array.isArray(user['as-groups'])
    ? (user['as-groups'] as unknown[]).filter((g): g is string => typeof g === 'string' && g !== '')
    : [];
  const impersonate = {
    ...(text(user['as']) ? { user: text(user['as']) as string } : {}),
    ...(text(user['as-uid']) ? { uid: text(user['as-uid']) as string } : {}),
    ...(groups.length ? { groups } : {}),
  };
  const tlsServerName = text(cluster['tls-server-name']);
  return {
    server: server.replace(/\/+$/, ''),
    ...(caPem !== undefined ? { caPem } : {}),
    ...(clientCertPem !== undefined ? { clientCertPem } : {}),
    ...(clientKeyPem !== undefined ? { clientKeyPem } : {}),
    skipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    ...(Object.keys(impersonate).length ? { impersonate } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    source: `${where}, context ${contextName}`,
  };
}

function pick(list: readonly Sourced[], name: string, kind: string, where: string): Sourced {
  // The first file to name it wins, as kubectl merges.
  const found = list.find((entry) => entry.name === name);
  if (!found) throw new KubeConfigError(`${where} has no ${kind} named ${name}`);
  return found;
}

function resolve(base: string, path: string): string {
  return isAbsolute(path) ? path : join(base, path);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new KubeConfigError(`cannot read ${what} from ${path}: ${firstLine(error)}`);
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/**
 * The host and port of an apiserver URL exactly as written (":443" kept, user info dropped), as
 * client-go labels its request metrics with it; a URL would drop a default port.
 */
export function serverHost(server: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]+)/i.exec(server)?.[1] ?? server;
}
