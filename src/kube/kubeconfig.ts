// Where the apiserver is and how to prove who we are, loaded by @kubernetes/client-node's
// KubeConfig, found as controller-runtime (and so the original) finds it: --kubeconfig; else the
// files KUBECONFIG lists; else, in a Pod, its service account; else ~/.kube/config. Never a silent
// fall-back to localhost:8080, as KubeConfig.loadFromDefault has.
//
// Each file is parsed by the library (loadFromFile: its validation, its relative paths). Several
// KUBECONFIG files are merged as kubectl merges them, which the library cannot (it throws on a
// name two files share): the first file to name a context, cluster or user wins, and so does the
// first current-context. What the library drops is read from the file itself and given back at
// its extension points: `tokenFile` (re-read as it rotates), `as-uid`, `as-groups` and
// `as-user-extra` (impersonation), and a relative exec `command`, resolved as kubectl resolves it.
// Every auth kubectl supports then works: tokens, token files, client certificates, exec
// plugins, OIDC; a server URL with a user and password in it is refused, so it is never logged.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { execProvider, SingleFlightExecAuth, TokenFileAuth, tokenFileProvider } from './authenticators.ts';
import { PooledKubeConfig, type Impersonation } from './pooled-kube-config.ts';

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
  /** For the token file's re-read; for tests. */
  readonly now?: () => number;
  /** Told of what a failing exec credential plugin said, for the operator log. */
  readonly execFailed?: (message: string, fields: Record<string, unknown>) => void;
  /** The exec plugin's deadline; for tests. */
  readonly execTimeoutMs?: number;
}

export interface LoadedKubeConfig {
  readonly kubeConfig: PooledKubeConfig;
  /** The apiserver URL. */
  readonly server: string;
  /** For the start log: where this came from (never a credential). */
  readonly source: string;
}

/** A kubeconfig user as the file has it: what the library keeps and what it drops. */
interface RawUser {
  readonly tokenFile?: unknown;
  readonly 'as-uid'?: unknown;
  readonly 'as-groups'?: unknown;
  readonly 'as-user-extra'?: unknown;
  readonly exec?: { readonly command?: unknown } | null;
}

interface ParsedFile {
  readonly path: string;
  readonly config: KubeConfig;
  readonly rawUsers: ReadonlyMap<string, RawUser>;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new KubeConfigError(`cannot read ${what} from ${path}: ${firstLine(error)}`);
  }
}

function parseFile(path: string): ParsedFile {
  const text = readText(path, 'the kubeconfig');
  const config = new KubeConfig();
  let raw: { users?: unknown };
  try {
    config.loadFromString(text);
    config.makePathsAbsolute(dirname(path));
    raw = (parse(text, { maxAliasCount: 100 }) ?? {}) as { users?: unknown };
  } catch (error) {
    throw new KubeConfigError(`the kubeconfig ${path} is not valid: ${firstLine(error)}`);
  }
  const rawUsers = new Map<string, RawUser>();
  for (const entry of Array.isArray(raw.users) ? (raw.users as unknown[]) : []) {
    const { name, user } = (entry ?? {}) as { name?: unknown; user?: unknown };
    if (typeof name === 'string' && user && typeof user === 'object') rawUsers.set(name, user);
  }
  return { path, config, rawUsers };
}

/** Each name taken from the first file that has it, as kubectl merges. */
function firstWins<T extends { readonly name: string }>(lists: readonly (readonly T[])[]): T[] {
  const seen = new Map<string, T>();
  for (const list of lists) for (const item of list) if (!seen.has(item.name)) seen.set(item.name, item);
  return [...seen.values()];
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/** The user as the operator's authenticators and the pool serve it, from what the file says. */
function completeUser(given: User, raw: RawUser | undefined, base: string, cluster: Cluster): User {
  const user = inlinedUser(given);
  const tokenFile = text(raw?.tokenFile);
  if (user.exec) {
    const spec = user.exec as { command?: unknown };
    // kubectl: a relative command with a path separator is relative to the kubeconfig's folder.
    const command =
      typeof spec.command === 'string' && spec.command.includes('/') && !isAbsolute(spec.command)
        ? join(base, spec.command)
        : spec.command;
    return {
      ...user,
      exec: undefined,
      authProvider: {
        name: execProvider,
        config: {
          spec: { ...spec, command },
          cluster: {
            server: cluster.server,
            ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}),
            ...(cluster.tlsServerName ? { 'tls-server-name': cluster.tlsServerName } : {}),
            ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
          },
        },
      },
    };
  }
  if (tokenFile && !user.authProvider) {
    // client-go: a token file, re-read as it changes, wins over a token.
    const path = isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile);
    const served: Mutable<User> = { ...user, authProvider: { name: tokenFileProvider, config: { path } } };
    delete served.token;
    return served;
  }
  return user;
}

function impersonationOf(raw: RawUser | undefined): Impersonation | undefined {
  if (!raw) return undefined;
  const uid = text(raw['as-uid']);
  const groups = strings(raw['as-groups']);
  const extraIn = raw['as-user-extra'];
  const extra =
    extraIn && typeof extraIn === 'object'
      ? Object.fromEntries(
          Object.entries(extraIn as Record<string, unknown>).map(([key, values]) => [key, strings(values)]),
        )
      : {};
  if (!uid && groups.length === 0 && Object.keys(extra).length === 0) return undefined;
  return { ...(uid ? { uid } : {}), groups, extra };
}

function fromFiles(paths: readonly string[], options: LoadOptions): LoadedKubeConfig {
  const files = paths.map(parseFile);
  const where = `kubeconfig ${paths.join(':')}`;
  const currentContext = files.map((f) => f.config.getCurrentContext()).find((c) => !!c);
  if (!currentContext) throw new KubeConfigError(`${where} has no current-context`);
  const contexts = firstWins<Context>(files.map((f) => f.config.getContexts()));
  const clusters = firstWins<Cluster>(files.map((f) => f.config.getClusters()));
  const context = contexts.find((c) => c.name === currentContext);
  if (!context) throw new KubeConfigError(`${where} has no context named ${currentContext}`);
  const cluster = clusters.find((c) => c.name === context.cluster);
  if (!cluster) throw new KubeConfigError(`${where} has no cluster named ${context.cluster}`);
  if (!/^https?:\/\/[^/]+/.test(cluster.server)) {
    throw new KubeConfigError(`${where}: cluster ${cluster.name} has no https:// server`);
  }
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new KubeConfigError(
      `${where}: cluster ${cluster.name} has a plain http:// server: set insecure-skip-tls-verify to use it, or give its https:// address`,
    );
  }
  if (/^https?:\/\/[^/?#]*@/.test(cluster.server)) {
    // Basic auth in the URL: it would be logged with the server, so it is refused.
    throw new KubeConfigError(
      `${where}: the server of cluster ${cluster.name} carries a user or password; put credentials in the user, not the URL`,
    );
  }
  // Users: the first file to name one wins; what the library dropped comes from that file.
  const current = inlined(cluster);
  const users: User[] = [];
  const impersonation = new Map<string, Impersonation>();
  const seen = new Set<string>();
  for (const file of files) {
    for (const user of file.config.getUsers()) {
      if (seen.has(user.name)) continue;
      seen.add(user.name);
      const raw = file.rawUsers.get(user.name);
      users.push(completeUser(user, raw, dirname(file.path), current));
      const who = impersonationOf(raw);
      if (who) impersonation.set(user.name, who);
    }
  }
  if (context.user && !users.some((u) => u.name === context.user)) {
    throw new KubeConfigError(`${where} has no user named ${context.user}`);
  }
  const kubeConfig = configured(options);
  kubeConfig.loadFromOptions({ clusters: [current], users, contexts, currentContext });
  for (const [user, who] of impersonation) kubeConfig.impersonate(user, who);
  return { kubeConfig, server: cluster.server, source: `${where}, context ${currentContext}` };
}

/** A file's contents as kubeconfig `-data`: read once at start, as client-go does, not per request. */
const fileData = (path: string, what: string): string => Buffer.from(readText(path, what)).toString('base64');

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The cluster with its CA read once. */
function inlined(cluster: Cluster): Cluster {
  if (!cluster.caFile) return cluster;
  const read: Mutable<Cluster> = { ...cluster, caData: fileData(cluster.caFile, 'the cluster CA') };
  delete read.caFile;
  return read;
}

/** The user with its client certificate and key read once. */
function inlinedUser(user: User): User {
  const read: Mutable<User> = { ...user };
  if (user.certFile) read.certData = fileData(user.certFile, 'the client certificate');
  if (user.keyFile) read.keyData = fileData(user.keyFile, 'the client key');
  delete read.certFile;
  delete read.keyFile;
  return read;
}

function configured(options: LoadOptions): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.addAuthenticator(new TokenFileAuth(options.now));
  const exec = new SingleFlightExecAuth({
    ...(options.execFailed ? { failed: options.execFailed } : {}),
    ...(options.execTimeoutMs ? { timeoutMs: options.execTimeoutMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  kubeConfig.addAuthenticator(exec);
  kubeConfig.onUnauthorized((user) => exec.forget(user));
  return kubeConfig;
}

function inCluster(
  env: Readonly<Record<string, string | undefined>>,
  dir: string,
  options: LoadOptions,
): LoadedKubeConfig {
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
  const cluster = inlined({
    name: 'in-cluster',
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    caFile: join(dir, 'ca.crt'),
    skipTLSVerify: false,
  });
  const user = {
    name: 'in-cluster',
    authProvider: { name: tokenFileProvider, config: { path: tokenFile } },
  } as User;
  const kubeConfig = configured(options);
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [user],
    contexts: [{ name: 'in-cluster', cluster: cluster.name, user: user.name }],
    currentContext: 'in-cluster',
  });
  return { kubeConfig, server: cluster.server, source: 'the in-cluster service account' };
}

/**
 * The configuration, found as controller-runtime (and so the original) finds it: --kubeconfig;
 * else the files KUBECONFIG lists, merged; else, without KUBECONFIG, the Pod's service account,
 * then ~/.kube/config.
 */
export function loadKubeConfig(options: LoadOptions = {}): LoadedKubeConfig {
  const env = options.env ?? process.env;
  if (options.kubeconfig) return fromFiles([options.kubeconfig], options);
  const listed = (env['KUBECONFIG'] ?? '').split(':').filter((path) => path !== '');
  if (listed.length > 0) {
    const existing = listed.filter((path) => existsSync(path));
    if (existing.length === 0)
      throw new KubeConfigError(`none of the files KUBECONFIG lists exists: ${listed.join(', ')}`);
    return fromFiles(existing, options);
  }
  const home = join(options.home ?? homedir(), '.kube', 'config');
  try {
    return inCluster(env, options.serviceAccountDir ?? serviceAccountDir, options);
  } catch (error) {
    if (existsSync(home)) return fromFiles([home], options);
    throw error;
  }
}

/**
 * The host and port of an apiserver URL exactly as written (":443" kept, user info dropped), as
 * client-go labels its request metrics with it; a URL would drop a default port.
 */
export function serverHost(server: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]+)/i.exec(server)?.[1] ?? server;
}
