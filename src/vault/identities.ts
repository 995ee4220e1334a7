// The Vault identities definitions read with. In operator scope there is one, the operator's own
// login, shared by every namespace. In namespace scope each namespace gets its own (a token from
// its own Kubernetes-auth login, its own mount cache and its own path poller), so two namespaces
// never share a read and Vault's policy for each namespace is what limits it. An identity is made
// on first use and, in namespace scope, released (token revoked) when its namespace has no
// definitions left.

import type { KvReader } from './kv.ts';
import type { PathPoller } from './path-poller.ts';
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

  /** `shared`: the operator's own identity (operator scope); without it, one per namespace. */
  constructor(shared: VaultIdentity | undefined, create: (namespace: string) => VaultIdentity) {
    this.#shared = shared;
    this.#create = create;
  }

  get perNamespace(): boolean {
    return this.#shared === undefined;
  }

  /** The identity `namespace` reads with, made on first use. */
  for(namespace: string): VaultIdentity {
    if (this.#shared) return this.#shared;
    let identity = this.#byNamespace.get(namespace);
    if (!identity) {
      identity = this.#create(namespace);
      this.#byNamespace.set(namespace, identity);
    }
    return identity;
  }

  /** The identity `namespace` reads with, if it has one already. */
  existing(namespace: string): VaultIdentity | undefined {
    return this.#shared ?? this.#byNamespace.get(namespace);
  }

  /** Namespace scope: the namespace has no definitions left; its polling stops and its token is revoked. */
  async release(namespace: string): Promise<void> {
    const identity = this.#byNamespace.get(namespace);
    if (!identity) return;
    this.#byNamespace.delete(namespace);
    identity.poller.stop();
    await identity.tokens.stop();
  }

  all(): VaultIdentity[] {
    return this.#shared ? [this.#shared] : [...this.#byNamespace.values()];
  }

  /** How many namespaces hold their own identity now. */
  get namespaces(): number {
    return this.#byNamespace.size;
  }

  /** Stops every poller and revokes every token. */
  async stop(): Promise<void> {
    const all = this.all();
    this.#byNamespace.clear();
    for (const identity of all) identity.poller.stop();
    await Promise.all(all.map((identity) => identity.tokens.stop()));
  }
}
