// Where the apiserver is and how to prove who we are: read from a kubeconfig file (--kubeconfig,
// else the first file of $KUBECONFIG that exists, else ~/.kube/config) or, inside a Pod, from the
// service account Kubernetes mounts. Only what an operator needs is understood: a server, its CA
// (or insecure-skip-tls-verify), and a bearer token, a token file or a client certificate. Exec
// plugins, auth providers and basic auth are refused with a message that says so, never ignored.

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

export function loadKubeConnection(options: LoadOptions = {}): KubeConnection {
  const env = options.env ?? process.env;
  if (options.kubeconfig) return fromKubeconfigFile(options.kubeconfig);
  const listed = (env['KUBECONFIG'] ?? '').split(':').filter((path) => path !== '');
  const fromEnv = listed.find((path) => existsSync(path));
  if (fromEnv) return fromKubeconfigFile(fromEnv);
  const home = join(options.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfigFile(home);
  return inCluster(env, options.serviceAccountDir ?? serviceAccountDir);
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

function fromKubeconfigFile(path: string): KubeConnection {
  let document: unknown;
  try {
    document = parse(readText(path, 'the kubeconfig'), { maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof KubeConfigError) throw error;
    throw new KubeConfigError(`the kubeconfig ${path} is not valid YAML: ${firstLine(error)}`);
  }
  const config = (document ?? {}) as Entry;
  const where = `kubeconfig ${path}`;
  const contextName = config['current-context'];
  if (typeof contextName !== 'string' || contextName === '') {
    throw new KubeConfigError(`${where} has no current-context`);
  }
  const context = pick(config['contexts'], contextName, 'context', where)['context'] as Entry | undefined;
  const clusterName = context?.['cluster'];
  const userName = context?.['user'];
  if (typeof clusterName !== 'string') {
    throw new KubeConfigError(`${where}: context ${contextName} names no cluster`);
  }
  const cluster = (pick(config['clusters'], clusterName, 'cluster', where)['cluster'] ?? {}) as Entry;
  const user = (
    typeof userName === 'string' ? (pick(config['users'], userName, 'user', where)['user'] ?? {}) : {}
  ) as Entry;
  const base = dirname(path);
  const server = cluster['server'];
  if (typeof server !== 'string' || !/^https?:\/\/[^/]+/.test(server)) {
    throw new KubeConfigError(`${where}: cluster ${clusterName} has no https:// server`);
  }
  for (const unsupported of ['exec', 'auth-provider', 'username', 'password'] as const) {
    if (user[unsupported] !== undefined) {
      throw new KubeConfigError(
        `${where}: user ${String(userName)} uses ${unsupported}, which this operator does not support; use a token, a token file or a client certificate`,
      );
    }
  }
  const material = (dataKey: string, fileKey: string, what: string, from: Entry): string | undefined => {
    const data = from[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
    const file = from[fileKey];
    if (typeof file === 'string' && file !== '') return readText(resolve(base, file), what);
    return undefined;
  };
  const caPem = material('certificate-authority-data', 'certificate-authority', 'the cluster CA', cluster);
  const clientCertPem = material(
    'client-certificate-data',
    'client-certificate',
    'the client certificate',
    user,
  );
  const clientKeyPem = material('client-key-data', 'client-key', 'the client key', user);
  if ((clientCertPem === undefined) !== (clientKeyPem === undefined)) {
    throw new KubeConfigError(`${where}: user ${String(userName)} has a client certificate or key, not both`);
  }
  const token = typeof user['token'] === 'string' && user['token'] !== '' ? user['token'] : undefined;
  const tokenFile =
    typeof user['tokenFile'] === 'string' && user['tokenFile'] !== ''
      ? resolve(base, user['tokenFile'])
      : undefined;
  return {
    server: server.replace(/\/+$/, ''),
    ...(caPem !== undefined ? { caPem } : {}),
    ...(clientCertPem !== undefined ? { clientCertPem } : {}),
    ...(clientKeyPem !== undefined ? { clientKeyPem } : {}),
    skipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(token !== undefined ? { token } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    source: `${where}, context ${contextName}`,
  };
}

function pick(list: unknown, name: string, kind: string, where: string): Named<Entry> {
  const found = Array.isArray(list)
    ? (list as Named<Entry>[]).find((entry) => entry && entry.name === name)
    : undefined;
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
