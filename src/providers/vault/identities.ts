// The Vault identities definitions read with. In operator scope there is one, the operator's own
// login, shared by every namespace. In namespace scope each namespace gets its own (a token from
// its own Kubernetes-auth login, its own mount cache and its own path poller), so two namespaces
// never share a read and Vault's policy for each namespace is what limits it. A namespace's
// identity is made on first use while the namespace has definitions, and released (polling
// stopped, token revoked) when its last definition goes; a namespace without definitions gets
// none, so a reconcile still running for a deleted definition cannot bring one back. An identity
// whose issuer still renews or revokes leases (dynamic credentials) is not released at once: it
// stops polling and lingers, its token renewed, until its leases are revoked or have ended, since
// Vault ends every lease with the token that issued it and a deleted definition revokes its lease.

import type { Clock, Timer } from '../../clock.ts';
import { ProviderError } from '../errors.ts';
import type { VaultIssuer } from './issuer.ts';
import type { KvReader } from './kv.ts';
import type { PathPoller } from '../path-poller.ts';
import type { TokenManager } from './token-manager.ts';

export interface VaultIdentity {
  readonly tokens: TokenManager;
  readonly kv: KvReader;
  readonly issuer: VaultIssuer;
  readonly poller: PathPoller;
}

export class VaultIdentities {
  readonly #shared: VaultIdentity | undefined;
  readonly #create: (namespace: string) => VaultIdentity;
  readonly #byNamespace = new Map<string, VaultIdentity>();
  /** Released identities that still hold leases, with the timer that ends them when the leases do. */
  readonly #lingering = new Map<string, { identity: VaultIdentity; timer?: Timer }>();
  readonly #clock: Clock;
  /** Definitions per namespace, as the informers report them. */
  readonly #definitions = new Map<string, number>();

  /** `shared`: the operator's own identity (operator scope); without it, one per namespace. */
  constructor(shared: VaultIdentity | undefined, create: (namespace: string) => VaultIdentity, clock: Clock) {
    this.#shared = shared;
    this.#create = create;
    this.#clock = clock;
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

  /**
   * The identity that renews and revokes the leases of `namespace`: its current one, or the one
   * released with leases still held (a deleted definition revokes its lease after its namespace's
   * last definition went).
   */
  lessor(namespace: string, leaseId?: string): VaultIdentity {
    const lingering = this.#lingering.get(namespace)?.identity;
    // A lease the released identity issued stays with it: its token is the lease's parent.
    if (lingering && leaseId !== undefined && lingering.issuer.knows(leaseId)) return lingering;
    return this.existing(namespace) ?? lingering ?? this.for(namespace);
  }

  /** A lease of `namespace` was revoked: a lingering identity with none left is released now. */
  async leaseEnded(namespace: string): Promise<void> {
    const lingering = this.#lingering.get(namespace);
    if (lingering && lingering.identity.issuer.leasesEndAt() === undefined) await this.#end(namespace);
  }

  all(): VaultIdentity[] {
    return this.#shared ? [this.#shared] : [...this.#byNamespace.values()];
  }

  /** Stops every poller and revokes every token (a token leases hang from is left to expire). */
  async stop(): Promise<void> {
    const all = [...this.all(), ...[...this.#lingering.values()].map((l) => l.identity)];
    for (const { timer } of this.#lingering.values()) timer?.cancel();
    this.#lingering.clear();
    this.#byNamespace.clear();
    for (const identity of all) identity.poller.stop();
    await Promise.all(
      all.map(async (identity) => Promise.all([identity.tokens.stop(), identity.issuer.stop()])),
    );
  }

  async #release(namespace: string): Promise<boolean> {
    const identity = this.#byNamespace.get(namespace);
    if (!identity) return false;
    this.#byNamespace.delete(namespace);
    identity.poller.stop();
    const leasesEnd = identity.issuer.leasesEndAt();
    if (leasesEnd === undefined) {
      await identity.tokens.stop();
      return true;
    }
    const earlier = this.#lingering.get(namespace);
    if (earlier) await this.#end(namespace);
    this.#lingering.set(namespace, { identity });
    this.#lingerUntil(namespace, leasesEnd);
    return false;
  }

  /** Ends the lingering identity of `namespace` once its leases have ended (renewals move that). */
  #lingerUntil(namespace: string, leasesEnd: number): void {
    const lingering = this.#lingering.get(namespace);
    if (!lingering) return;
    lingering.timer = this.#clock.after(Math.max(0, leasesEnd - this.#clock.now()) + 1_000, () => {
      const later = lingering.identity.issuer.leasesEndAt();
      if (later === undefined) void this.#end(namespace);
      else this.#lingerUntil(namespace, later);
    });
  }

  async #end(namespace: string): Promise<void> {
    const lingering = this.#lingering.get(namespace);
    if (!lingering) return;
    this.#lingering.delete(namespace);
    lingering.timer?.cancel();
    await Promise.all([lingering.identity.tokens.stop(), lingering.identity.issuer.stop()]);
  }
}
