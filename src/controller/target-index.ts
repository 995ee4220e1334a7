// Which SecretDefinitions target which Secret name, so that when two claim one Secret the same
// one always wins (the older; the name breaks ties) and the other reports a Conflict.

interface Claimant {
  readonly key: string;
  readonly createdAt: string;
}

export class TargetIndex {
  readonly #claims = new Map<string, Map<string, Claimant>>();
  readonly #targetOf = new Map<string, string>();

  /** Records that definition `key` (created at `createdAt`) targets Secret `target` (namespace/name). */
  set(key: string, target: string | undefined, createdAt: string): void {
    this.remove(key);
    if (target === undefined) return;
    this.#targetOf.set(key, target);
    let claimants = this.#claims.get(target);
    if (!claimants) this.#claims.set(target, (claimants = new Map<string, Claimant>()));
    claimants.set(key, { key, createdAt });
  }

  remove(key: string): void {
    const target = this.#targetOf.get(key);
    if (target === undefined) return;
    this.#targetOf.delete(key);
    const claimants = this.#claims.get(target);
    claimants?.delete(key);
    if (claimants?.size === 0) this.#claims.delete(target);
  }

  /** The definitions targeting `target`, first the one that wins. */
  claimants(target: string): readonly string[] {
    return [...(this.#claims.get(target)?.values() ?? [])]
      .sort((a, b) =>
        a.createdAt === b.createdAt ? a.key.localeCompare(b.key) : a.createdAt.localeCompare(b.createdAt),
      )
      .map((c) => c.key);
  }
}
