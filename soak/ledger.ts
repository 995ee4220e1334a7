// What the load did that the checker cannot see in the cluster: every value Vault was ever given
// per path (recorded before the write, so a Secret can never hold it first), and the values the
// load put into managed Secrets behind the operator's back, and the Secrets of others that
// definitions name, which the operator must never write.

export class Ledger {
  readonly #history = new Map<string, string[]>();
  readonly #tampered = new Set<string>();
  /** Secrets the operator does not own (namespace/name), with the resourceVersion the load left them at. */
  readonly foreign = new Map<string, string>();

  /** Records `value` as held by Vault `path` (as a definition names it: secret/...), before writing it. */
  willWrite(path: string, value: string): void {
    const values = this.#history.get(path) ?? [];
    values.push(value);
    this.#history.set(path, values);
  }

  /** Every value `path` ever held, oldest first. */
  valuesOf(path: string): readonly string[] {
    return this.#history.get(path) ?? [];
  }

  /** The newest value given to `path`, if any. */
  latest(path: string): string | undefined {
    return this.#history.get(path)?.at(-1);
  }

  /** How many values `path` has been given so far: the index of the next one. */
  generation(path: string): number {
    return this.#history.get(path)?.length ?? 0;
  }

  /** Records a value the load wrote into a managed Secret itself, before writing it. */
  willTamper(value: string): void {
    this.#tampered.add(value);
  }

  isTampered(value: string): boolean {
    return this.#tampered.has(value);
  }
}
