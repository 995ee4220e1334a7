// The Vault identities definitions read with. In operator scope there is one, the operator's own
// login, shared by every namespace. In namespace scope each namespace gets its own (a token from
// its own Kubernetes-auth login, its own mount cache and its own path poller), so two namespaces
// never share a read and Vault's policy for each namespace is what limits it. A namespace's
// identity is made on first use while the namespace has definitions, and released (polling
// stopped, token revoked) when its last definition goes; a namespace without definitions gets
// none, so a reconcile still running for a deleted definition cannot bring one back.

import { ProviderError } from '../errors.ts';
import type { KvReader } from './kv.ts';
import type { PathPoller } from '../path-poller.ts';
import type { TokenManager } from './token-manager.ts';

export interface VaultIdentity {
  readonly tokens: TokenManager;
  readonly kv: KvReader;
  readonly poller: PathPoller;
}

export class VaultIdentities {
  readonly #shared: VaultIdentity | undefined;
  readonly #create: (namespace: string) => VaultIdentity;
  readonly #byNamespace = new Map<string, VaultIdentity>();
  /** Definitions per namespace, as the informers report them. */
  readonly #definitions = new Map<string, number>();

  /** `shared`: the operator's own identity (operator scope); without it, one per namespace. */
  constructor(shared: VaultIdentity | undefined, create: (namespace: string) => VaultIdentity) {
    this.#shared = shared;
    this.#create = create;
  }

  get perNamespace(): boolean {
    return this.#shared === undefined;
  }

  /** A definition appeared in `namespace`. */
  definitionAdded(namespace: string): void {
    this.#definitions.set(namespace, (this.#definitions.get(namespace) ?? 0) + 1);
  }

  /**
   * A definition left `namespace`. When it was the last one, in namespace scope, the namespace's
   * identity is released; answers whether a token was revoked for it.
   */
  async definitionRemoved(namespace: string): Promise<boolean> {
    const left = (this.#definitions.get(namespace) ?? 0) - 1;
    if (left > 0) {
      this.#definitions.set(namespace, left);
      return false;
    }
    this.#definitions.delete(namespace);
    return this.#release(namespace);
  }

  /** The identity `namespace` reads with, made on first use. */
  for(namespace: string): VaultIdentity {
    if (this.#shared) return this.#shared;
    let identity = this.#byNamespace.get(namespace);
    if (!identity) {
      if (!this.#definitions.has(namespace)) {
        throw new ProviderError('VaultUnavailable', `namespace ${namespace} has no SecretDefinitions left`);
      }
      identity = this.#create(namespace);
      this.#byNamespace.set(namespace, identity);
    }
    return identity;
  }

  /** The identity `namespace` reads with, if it has one already. */
  existing(namespace: string): VaultIdentity | undefined {
    return this.#shared ?? this.#byNamespace.get(namespace);
  }

  all(): VaultIdentity[] {
    return this.#shared ? [this.#shared] : [...this.#byNamespace.values()];
  }

  /** Stops every poller and revokes every token. */
  async stop(): Promise<void> {
    const all = this.all();
    this.#byNamespace.clear();
    for (const identity of all) identity.poller.stop();
    await Promise.all(all.map((identity) => identity.tokens.stop()));
  }

  async #release(namespace: string): Promise<boolean> {
    const identity = this.#byNamespace.get(namespace);
    if (!identity) return false;
    this.#byNamespace.delete(namespace);
    identity.poller.stop();
    await identity.tokens.stop();
    return true;
  }
}
