// What the controller may ask of a secret backend, whichever it is (Vault, Azure Key Vault): the
// one interface the controller and the app depend on. A provider is configured once, told when
// the definitions of a namespace come and go, and asked for the data at a path, at a version.
// Each backend lives in its own folder (providers/vault/, providers/azure-kv/) and shares the
// path poller, the refresh budget and the rate limiter, so reads of one path are shared, retried
// and paced the same way for every backend.

import type { Backend, SourceVersion } from '../api/types.ts';

/** What a backend holds at one path: its keys and their JSON values. */
export type SecretData = Readonly<Record<string, unknown>>;

/**
 * The key of a value that has no keys of its own (an Azure Key Vault secret that is not a JSON
 * object): when it is the only key, every key of a definition reads the whole value, as in the
 * original. No keysMap key can be empty, so it cannot be asked for by name.
 */
export const wholeValue = '';

/** One thing to read: a path as the backend names it, at a pinned version if any. */
export interface SourceRef {
  readonly path: string;
  readonly version?: SourceVersion;
}

/** Where a definition path leads, once the backend has said so (Vault: where its mount ends). */
export interface ResolvedPath {
  /** The one spelling of the secret: what is polled, shared and read. */
  readonly path: string;
  /** The path of the request that reads it (Vault KV v2: with data/). */
  readonly apiPath: string;
  /** The mount, with its trailing slash; "" for a backend without mounts. */
  readonly mount: string;
  readonly version: 1 | 2;
}

/** A request to a path that issues (a PKI role's issue endpoint, a dynamic engine's creds path). */
export interface IssueRequest {
  readonly engine: 'pki' | 'dynamic';
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly body?: Readonly<Record<string, unknown>>;
}

/** What a lease is, as Vault granted it. */
export interface LeaseGrant {
  readonly durationSeconds: number;
  readonly renewable: boolean;
}

/** A new certificate or new credentials: every issue makes new ones. */
export interface IssuedSecret {
  readonly data: SecretData;
  /** The lease of dynamic credentials; undefined when the answer carries none (a PKI certificate). */
  readonly lease?: LeaseGrant & { readonly id: string };
}

/** The reads of the definitions of one namespace. */
export interface ProviderSources {
  /** Where a path leads; may ask the backend once. Throws ProviderError (InvalidSpec for a bad path). */
  resolve(path: string): Promise<ResolvedPath>;
  /** Declares the sources `user` (namespace/name) reads and how fresh they must be. */
  track(user: string, sources: readonly SourceRef[], intervalMs: number): void;
  untrack(user: string): void;
  /** The data at `source`: the shared copy, or a new read when `fresh` or none is held. */
  get(source: SourceRef, fresh: boolean): Promise<SecretData>;
  /**
   * Issues at `request.path` with this namespace's identity: never shared, never polled. Throws
   * ProviderError (Forbidden, IssueFailed, VaultUnavailable; InvalidSpec where the backend has no
   * such engine).
   */
  issue(request: IssueRequest, user: string): Promise<IssuedSecret>;
  /** Asks for `incrementSeconds` more; Vault may grant less. LeaseExpired when it no longer knows the lease. */
  renewLease(leaseId: string, incrementSeconds: number): Promise<LeaseGrant>;
  /** Ends the lease now (a lease Vault no longer knows is already ended). */
  revokeLease(leaseId: string): Promise<void>;
  /** Takes up a lease an earlier process issued, recorded in the Secret of `user`, ending at `expiresAt` (epoch ms). */
  adoptLease(leaseId: string, expiresAt: number, user: string): Promise<void>;
  /**
   * When the lease ends at the latest whatever renewals say, because what issued it is gone
   * (Vault: its token, renewed by nobody now); undefined when nothing says so.
   */
  leaseEndsBy(leaseId: string): number | undefined;
}

/** The original's names for a failed read, as its metrics carry them. */
export type ReadErrorName = 'BackendSecretNotFoundError' | 'BackendSecretForbiddenError' | 'UnknownError';

export interface SecretProvider {
  /** The --backend value. */
  readonly backend: Backend;
  /** The reads of the definitions of `namespace`. */
  sources(namespace: string): ProviderSources;
  /** A definition appeared in, or left, `namespace` (per-namespace logins follow them). */
  definitionAdded(namespace: string): void;
  definitionRemoved(namespace: string): void;
  /** Logs in up front and keeps trying until `signal` aborts, so readiness need not wait for a definition. */
  start(signal: AbortSignal): void;
  /** Undefined when reads can be served; else why not (no valid token, say). */
  notReady(): string | undefined;
  /** Whether refreshes are stretched beyond the intervals asked for (the Ready reason says so). */
  refreshStretched(): boolean;
  /** Counts a failed read of `path` for `key` ("" for a whole path) of `definition` in the original's metric. */
  readFailed(definition: string, path: string, key: string, error: ReadErrorName): void;
  /** Updates the gauges read at scrape time (token TTL, polled paths, stretch). */
  collect(): void;
  /** Stops polling and gives credentials back (Vault: revokes tokens). */
  stop(): Promise<void>;
}
