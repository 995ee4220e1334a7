// The managed Secrets the informer holds, findable by name and by the SecretDefinition that owns
// them, so a reconcile never scans every Secret.

import { kind, ownerAnnotation } from '../api/types.ts';
import type { LiveSecret } from '../kube/live-secret.ts';

export const secretKey = (namespace: string, name: string): string => `${namespace}/${name}`;

function ownerName(secret: LiveSecret): string | undefined {
  const controller = secret.ownerReferences.find((ref) => ref.controller && ref.kind === kind);
  return controller?.name ?? secret.annotations[ownerAnnotation];
}

export class SecretIndex {
  readonly #byOwner = new Map<string, Set<string>>();
  readonly #ownerOf = new Map<string, string>();

  upserted(secret: LiveSecret): void {
    this.deleted(secret);
    const owner = ownerName(secret);
    if (owner === undefined) return;
    const ownerKey = secretKey(secret.namespace, owner);
    const key = secretKey(secret.namespace, secret.name);
    this.#ownerOf.set(key, ownerKey);
    let owned = this.#byOwner.get(ownerKey);
    if (!owned) this.#byOwner.set(ownerKey, (owned = new Set()));
    owned.add(key);
  }

  deleted(secret: LiveSecret): void {
    const key = secretKey(secret.namespace, secret.name);
    const ownerKey = this.#ownerOf.get(key);
    if (ownerKey === undefined) return;
    this.#ownerOf.delete(key);
    const owned = this.#byOwner.get(ownerKey);
    owned?.delete(key);
    if (owned?.size === 0) this.#byOwner.delete(ownerKey);
  }

  /** Keys (namespace/name) of the Secrets that name `definitionKey` as their owner. */
  ownedBy(definitionKey: string): readonly string[] {
    return [...(this.#byOwner.get(definitionKey) ?? [])];
  }

  /** The definition key that owns the Secret `key`, if any. */
  ownerOf(key: string): string | undefined {
    return this.#ownerOf.get(key);
  }
}
