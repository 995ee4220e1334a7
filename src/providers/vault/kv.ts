// Reading KV secrets: which engine version serves a path (asked once per mount and remembered),
// where the KV v2 `data/` segment goes, and what each answer means.

import { reasons } from '../../api/conditions.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { ProviderError } from '../errors.ts';
import type { SourceVersion } from '../../api/types.ts';
import type { SecretData } from '../provider.ts';
import { vaultErrorMessages } from './error-messages.ts';
import { vaultPathProblem } from '../../api/vault-path.ts';
import type { RequestPriority } from '../../rate-limit/rate-limiter.ts';
import type { TokenManager } from './token-manager.ts';
import { vaultAnswerOf, type VaultAnswer, type VaultApi, type VaultReadOptions } from './vault-api.ts';

export type EngineMode = 'auto' | 'kv1' | 'kv2';

export interface KvMount {
  /** The mount path with its trailing slash: `secret/`. */
  readonly path: string;
  readonly version: 1 | 2;
}

/** Where a definition path leads once its mount is known. */
export interface ResolvedSecret {
  /** The secret's one spelling, `<mount>/<name>`: what is polled, shared and read. */
  readonly path: string;
  /** The path of the API request that reads it (`<mount>/data/<name>` on KV v2). */
  readonly apiPath: string;
  /** The mount, with its trailing slash. */
  readonly mount: string;
  readonly version: 1 | 2;
}

/** A Vault secret's keys and their JSON values. */

export interface KvReadOptions {
  /** The identity's node-vault client. */
  readonly vault: VaultApi;
  readonly tokens: TokenManager;
  readonly engine: EngineMode;
  /** The signal reads run under, read at each request: aborted, they stop (lost leadership). */
  readonly signal?: () => AbortSignal | undefined;
  /** For when a mount was learned (default: the system clock). */
  readonly clock?: Clock;
}

/**
 * A mount learned this long ago is asked about again when a read finds nothing (404) or is
 * refused as malformed (400): the engine may have been remounted (KV v1 to v2, or something else
 * entirely). Not sooner, so a path that is simply missing costs no lookup per retry.
 */
export const mountRelearnAfterMs = 60_000;

/** Where a definition's path lands: its mount and the secret's name below it, as segments. */
export interface KvLocation {
  readonly mount: KvMount;
  /** The secret's name below the mount, without KV v2's `data/`: ['app', 'db']. */
  readonly name: readonly string[];
}

function segmentsOf(mount: KvMount): string[] {
  return mount.path.replace(/\/$/, '').split('/');
}

/** Whether `path` names a secret below `mount`: compared segment by segment, never by prefix. */
export function holds(mount: KvMount, path: readonly string[]): boolean {
  const own = segmentsOf(mount);
  return path.length > own.length && own.every((segment, index) => path[index] === segment);
}

/**
 * The secret `path` names on `mount`. A path as a definition writes it (`spelling: 'written'`)
 * may carry KV v2's `data/` after the mount, which is dropped (the original and the Vault CLI both
 * write paths that way), so both spellings name the same secret. A logical path (what
 * logicalPath() gives, and what is polled) is taken as it is: dropping a `data/` a second time
 * would read a different secret than the one resolved and checked.
 */
export function locate(
  mount: KvMount,
  path: string,
  spelling: 'written' | 'logical' = 'written',
): KvLocation {
  const segments = path.split('/');
  if (!holds(mount, segments)) {
    throw new ProviderError(
      reasons.invalidSpec,
      `Vault path ${path} names no secret below mount ${mount.path}`,
    );
  }
  let name = segments.slice(segmentsOf(mount).length);
  if (spelling === 'written' && mount.version === 2 && name[0] === 'data') name = name.slice(1);
  if (name.length === 0) {
    throw new ProviderError(
      reasons.invalidSpec,
      `Vault path ${path} names the KV v2 mount's data/ folder, not a secret: add the secret's name`,
    );
  }
  return { mount, name };
}

/** The one spelling of a located secret, `<mount>/<name>`: what is polled, counted and shown. */
export function logicalPath(location: KvLocation): string {
  return `${location.mount.path}${location.name.join('/')}`;
}

/** The API path, as segments, that reads the secret: `<mount>/data/<name>` on v2, `<mount>/<name>` on v1. */
export function kvRequestPath(location: KvLocation): string[] {
  const mount = segmentsOf(location.mount);
  return location.mount.version === 2 ? [...mount, 'data', ...location.name] : [...mount, ...location.name];
}

/**
 * The mount Vault reports for `path`. Only a KV (`kv`) or KV v1 (`generic`) engine is accepted, and
 * only when its path is a whole-segment prefix of `path`: another answer would make the next
 * request something other than a KV read. A forced engine keeps the lookup (it is what proves the
 * mount is KV) and only overrides the version.
 */
export function parseMount(body: unknown, path: string, engine: EngineMode): KvMount {
  const data = (body as { data?: Record<string, unknown> } | undefined)?.data;
  const mountPath = data?.['path'];
  const type = data?.['type'];
  // The engine first: Vault reports auth mounts without their auth/ prefix, and whatever their
  // path, a mount that is not KV is never read.
  if (typeof type === 'string' && type !== 'kv' && type !== 'generic') {
    throw new ProviderError(
      reasons.invalidSpec,
      `Vault path ${path} is on a ${type} secrets engine; only KV version 1 and 2 are supported`,
    );
  }
  if (
    type === undefined ||
    typeof mountPath !== 'string' ||
    !mountPath.endsWith('/') ||
    vaultPathProblem(`${mountPath}x`) !== undefined ||
    !holds({ path: mountPath, version: 1 }, path.split('/'))
  ) {
    throw new ProviderError(reasons.vaultUnavailable, `Vault gave no usable mount for ${path}`);
  }
  if (engine !== 'auto') return { path: mountPath, version: engine === 'kv2' ? 2 : 1 };
  const options = data?.['options'] as { version?: unknown } | null | undefined;
  return { path: mountPath, version: options?.version === '2' ? 2 : 1 };
}

export class KvReader {
  readonly #options: KvReadOptions;
  /** Mounts learned so far, by path: one lookup per mount for the operator's lifetime. */
  readonly #mounts = new Map<string, KvMount>();
  /** When each mount was learned, by path (clock ms). */
  readonly #learnedAt = new Map<string, number>();
  readonly #mountLookups = new Map<string, { readonly path: string; readonly lookup: Promise<KvMount> }>();

  constructor(options: KvReadOptions) {
    this.#options = options;
  }

  /**
   * The data of the secret at logical path `path` (as resolve() gave it; a pinned KV v2 `version`
   * if given); throws ProviderError with a reason.
   */
  async read(
    path: string,
    version?: SourceVersion,
    { signal, priority }: { signal?: AbortSignal; priority?: RequestPriority } = {},
  ): Promise<SecretData> {
    if (typeof version === 'string') {
      throw new ProviderError(reasons.invalidSpec, `a Vault version is a number; "${version}" is not`);
    }
    const location = await this.locate(path, signal, 'logical');
    if (version !== undefined && location.mount.version === 1) {
      throw new ProviderError(
        reasons.invalidSpec,
        `Vault path ${path} is on a KV version 1 mount, which has no versions to pin`,
      );
    }
    let body: unknown;
    try {
      body = await this.#withToken(kvRequestPath(location), {
        operation: 'read',
        ...(version === undefined ? {} : { query: { version: String(version) } }),
        ...(signal ? { signal } : {}),
        ...(priority ? { priority } : {}),
      });
    } catch (error) {
      const answer = vaultAnswerOf(error);
      if (!answer) throw error;
      if (answer.status === 404 || answer.status === 400) this.#maybeForget(location.mount);
      throw this.#failure(answer, path, version);
    }
    return this.#dataOf(body, location.mount, path);
  }

  /** Forgets a mount learned long enough ago, so the next read of its paths learns it again. */
  #maybeForget(mount: KvMount): void {
    const now = (this.#options.clock ?? systemClock).now();
    if (now - (this.#learnedAt.get(mount.path) ?? now) < mountRelearnAfterMs) return;
    this.#mounts.delete(mount.path);
    this.#learnedAt.delete(mount.path);
  }

  /**
   * One spelling per secret: a KV v2 path with or without `data/` names the same secret, and so
   * is read (and counted) once.
   */
  async resolve(path: string, signal?: AbortSignal): Promise<ResolvedSecret> {
    const location = await this.locate(path, signal);
    return {
      path: logicalPath(location),
      apiPath: kvRequestPath(location).join('/'),
      mount: location.mount.path,
      version: location.mount.version,
    };
  }

  async locate(
    path: string,
    signal?: AbortSignal,
    spelling: 'written' | 'logical' = 'written',
  ): Promise<KvLocation> {
    const problem = vaultPathProblem(path);
    if (problem) {
      // validate and the CRD refuse these already; checked again so nothing unsafe is ever sent.
      throw new ProviderError(reasons.invalidSpec, `the Vault path ${JSON.stringify(path)} ${problem}`);
    }
    return locate(await this.mountFor(path, signal), path, spelling);
  }

  async mountFor(path: string, signal?: AbortSignal): Promise<KvMount> {
    const segments = path.split('/');
    let known: KvMount | undefined;
    for (const mount of this.#mounts.values()) {
      if (holds(mount, segments) && (!known || mount.path.length > known.path.length)) known = mount;
    }
    if (known) return known;
    // Paths of one mount asked at once share the lookup of its first segment. A shared lookup
    // that failed speaks only for its own path: another path asks for itself, so one
    // definition's path and error never reach another's status.
    const key = segments[0] ?? path;
    const shared = this.#mountLookups.get(key);
    if (shared && shared.path !== path) {
      const mount = await shared.lookup.catch(() => undefined);
      if (mount && holds(mount, segments)) return mount;
      return this.#lookupMount(path, signal);
    }
    if (shared) return shared.lookup;
    const lookup = this.#lookupMount(path, signal).finally(() => this.#mountLookups.delete(key));
    this.#mountLookups.set(key, { path, lookup });
    return lookup;
  }

  async #lookupMount(path: string, signal?: AbortSignal): Promise<KvMount> {
    let body: unknown;
    try {
      body = await this.#withToken(['sys', 'internal', 'ui', 'mounts', ...path.split('/')], {
        operation: 'mounts',
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      const answer = vaultAnswerOf(error);
      if (!answer) throw error;
      if (answer.status === 403) {
        throw new ProviderError(reasons.forbidden, `the Vault policy grants no access to ${path}`, 403);
      }
      if (answer.status === 404 || answer.status === 400) {
        throw new ProviderError(
          reasons.pathNotFound,
          `no secrets engine is mounted at Vault path ${path}`,
          answer.status,
        );
      }
      throw new ProviderError(
        reasons.vaultUnavailable,
        `Vault answered ${answer.status} to a mount lookup for ${path}`,
        answer.status,
        vaultErrorMessages(answer.body),
      );
    }
    const mount = parseMount(body, path, this.#options.engine);
    this.#mounts.set(mount.path, mount);
    this.#learnedAt.set(mount.path, (this.#options.clock ?? systemClock).now());
    return mount;
  }

  /**
   * Reads with the current token; after a 403 the token is checked and the read made once more
   * if it was replaced. Vault's refusals reject, as node-vault gives them.
   */
  async #withToken(path: readonly string[], options: Omit<VaultReadOptions, 'token'>): Promise<unknown> {
    const { vault, tokens } = this.#options;
    const work = this.#options.signal?.();
    const read = options.signal || !work ? options : { ...options, signal: work };
    const token = await tokens.token();
    try {
      return await vault.read(path, { ...read, token });
    } catch (error) {
      if (vaultAnswerOf(error)?.status !== 403) throw error;
      const replacement = await tokens.afterForbidden(token);
      if (replacement === undefined) throw error;
      return vault.read(path, { ...read, token: replacement });
    }
  }

  #dataOf(body: unknown, mount: KvMount, path: string): SecretData {
    const outer = (body as { data?: unknown } | undefined)?.data;
    const data = mount.version === 2 ? (outer as { data?: unknown } | null | undefined)?.data : outer;
    if (data === null && mount.version === 2) {
      throw new ProviderError(
        reasons.pathNotFound,
        `the requested version of Vault path ${path} is deleted or destroyed`,
      );
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new ProviderError(reasons.vaultUnavailable, `Vault's answer for ${path} holds no key/value data`);
    }
    return data as SecretData;
  }

  #failure(answer: VaultAnswer, path: string, version?: SourceVersion): ProviderError {
    const at = version === undefined ? `Vault path ${path}` : `version ${version} of Vault path ${path}`;
    switch (answer.status) {
      case 404:
        return new ProviderError(reasons.pathNotFound, `no secret at ${at}`, 404);
      case 403:
        return new ProviderError(reasons.forbidden, `the Vault policy does not allow reading ${path}`, 403);
      case 503:
        return new ProviderError(
          reasons.vaultUnavailable,
          `Vault is sealed or unavailable (503) reading ${path}`,
          503,
        );
      default:
        return new ProviderError(
          reasons.vaultUnavailable,
          `Vault answered ${answer.status} reading ${at}`,
          answer.status,
          vaultErrorMessages(answer.body),
        );
    }
  }
}
