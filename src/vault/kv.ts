// Reading KV secrets: which engine version serves a path (asked once per mount and remembered),
// where the KV v2 `data/` segment goes, and what each answer means.

import { reasons } from '../api/conditions.ts';
import { VaultError, vaultErrorMessages } from './errors.ts';
import type { TokenManager } from './token-manager.ts';
import type { VaultCall, VaultReply, VaultTransport } from './transport.ts';

export type EngineMode = 'auto' | 'kv1' | 'kv2';

export interface KvMount {
  /** The mount path with its trailing slash: `secret/`. */
  readonly path: string;
  readonly version: 1 | 2;
}

/** A Vault secret's keys and their JSON values. */
export type KvData = Readonly<Record<string, unknown>>;

export interface KvReadOptions {
  readonly transport: VaultTransport;
  readonly tokens: TokenManager;
  readonly engine: EngineMode;
}

/** The API path that reads `path` on `mount`: KV v2 gets `data/` after the mount unless it is there. */
export function kvApiPath(mount: KvMount, path: string, version?: number): string {
  const rest = path.slice(mount.path.length);
  const inner =
    mount.version === 2 ? `${mount.path}${rest.startsWith('data/') ? rest : `data/${rest}`}` : path;
  return version === undefined ? inner : `${inner}?version=${version}`;
}

/** Under a forced engine the first path segment is taken as the mount, as the original did. */
function forcedMount(path: string, version: 1 | 2): KvMount {
  return { path: `${path.split('/')[0] ?? ''}/`, version };
}

function parseMount(body: unknown, path: string): KvMount {
  const data = (body as { data?: Record<string, unknown> } | undefined)?.data;
  const mountPath = data?.['path'];
  const type = data?.['type'];
  if (typeof mountPath !== 'string' || !path.startsWith(mountPath)) {
    throw new VaultError('VaultUnavailable', `Vault gave no usable mount for ${path}`);
  }
  if (type !== 'kv' && type !== 'generic') {
    throw new VaultError(
      reasons.invalidSpec,
      `Vault path ${path} is on a ${String(type)} secrets engine; only KV version 1 and 2 are supported`,
    );
  }
  const options = data?.['options'] as { version?: unknown } | null | undefined;
  return { path: mountPath, version: options?.version === '2' ? 2 : 1 };
}

export class KvReader {
  readonly #options: KvReadOptions;
  /** Mounts learned so far, by path: one lookup per mount for the operator's lifetime. */
  readonly #mounts = new Map<string, KvMount>();
  readonly #mountLookups = new Map<string, Promise<KvMount>>();

  constructor(options: KvReadOptions) {
    this.#options = options;
  }

  /** The data at `path` (a pinned KV v2 `version` if given); throws VaultError with a reason. */
  async read(path: string, version?: number): Promise<KvData> {
    const mount = await this.mountFor(path);
    if (version !== undefined && mount.version === 1) {
      throw new VaultError(
        reasons.invalidSpec,
        `Vault path ${path} is on a KV version 1 mount, which has no versions to pin`,
      );
    }
    const reply = await this.#withToken({
      method: 'GET',
      path: kvApiPath(mount, path, version),
      operation: 'read',
    });
    if (reply.status === 200) return this.#dataOf(reply.body, mount, path);
    throw this.#failure(reply, path, version);
  }

  /**
   * One spelling per secret: a KV v2 path with or without `data/` names the same secret, and so
   * is read (and counted) once.
   */
  async canonicalPath(path: string): Promise<string> {
    const mount = await this.mountFor(path);
    const rest = path.slice(mount.path.length);
    return mount.version === 2 && rest.startsWith('data/')
      ? `${mount.path}${rest.slice('data/'.length)}`
      : path;
  }

  async mountFor(path: string): Promise<KvMount> {
    const { engine } = this.#options;
    if (engine !== 'auto') return forcedMount(path, engine === 'kv2' ? 2 : 1);
    let known: KvMount | undefined;
    for (const mount of this.#mounts.values()) {
      if (path.startsWith(mount.path) && (!known || mount.path.length > known.path.length)) known = mount;
    }
    if (known) return known;
    // Paths of one mount asked at once share the lookup of its first segment.
    const key = path.split('/')[0] ?? path;
    let lookup = this.#mountLookups.get(key);
    if (!lookup) {
      lookup = this.#lookupMount(path).finally(() => this.#mountLookups.delete(key));
      this.#mountLookups.set(key, lookup);
    }
    const mount = await lookup;
    return path.startsWith(mount.path) ? mount : this.mountFor(path);
  }

  async #lookupMount(path: string): Promise<KvMount> {
    const reply = await this.#withToken({
      method: 'GET',
      path: `sys/internal/ui/mounts/${path}`,
      operation: 'mounts',
    });
    if (reply.status === 200) {
      const mount = parseMount(reply.body, path);
      this.#mounts.set(mount.path, mount);
      return mount;
    }
    if (reply.status === 403) {
      throw new VaultError(reasons.forbidden, `the Vault policy grants no access to ${path}`, 403);
    }
    if (reply.status === 404 || reply.status === 400) {
      throw new VaultError(
        reasons.pathNotFound,
        `no secrets engine is mounted at Vault path ${path}`,
        reply.status,
      );
    }
    throw new VaultError(
      reasons.vaultUnavailable,
      `Vault answered ${reply.status} to a mount lookup for ${path}: ${vaultErrorMessages(reply.body)}`,
      reply.status,
    );
  }

  /** Sends with the current token; after a 403 the token is checked and the call retried once if it was replaced. */
  async #withToken(call: Omit<VaultCall, 'token'>): Promise<VaultReply> {
    const { transport, tokens } = this.#options;
    const token = await tokens.token();
    const reply = await transport.send({ ...call, token });
    if (reply.status !== 403) return reply;
    const replacement = await tokens.afterForbidden(token);
    return replacement === undefined ? reply : transport.send({ ...call, token: replacement });
  }

  #dataOf(body: unknown, mount: KvMount, path: string): KvData {
    const outer = (body as { data?: unknown } | undefined)?.data;
    const data = mount.version === 2 ? (outer as { data?: unknown } | null | undefined)?.data : outer;
    if (data === null && mount.version === 2) {
      throw new VaultError(
        reasons.pathNotFound,
        `the requested version of Vault path ${path} is deleted or destroyed`,
      );
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new VaultError(reasons.vaultUnavailable, `Vault's answer for ${path} holds no key/value data`);
    }
    return data as KvData;
  }

  #failure(reply: VaultReply, path: string, version?: number): VaultError {
    const at = version === undefined ? `Vault path ${path}` : `version ${version} of Vault path ${path}`;
    switch (reply.status) {
      case 404:
        return new VaultError(reasons.pathNotFound, `no secret at ${at}`, 404);
      case 403:
        return new VaultError(reasons.forbidden, `the Vault policy does not allow reading ${path}`, 403);
      case 503:
        return new VaultError(
          reasons.vaultUnavailable,
          `Vault is sealed or unavailable (503) reading ${path}`,
          503,
        );
      default:
        return new VaultError(
          reasons.vaultUnavailable,
          `Vault answered ${reply.status} reading ${at}: ${vaultErrorMessages(reply.body) || 'no detail'}`,
          reply.status,
        );
    }
  }
}
