// The soak's seeded load: definitions created, re-pointed and deleted, Vault values rotated,
// managed Secrets edited and deleted behind the operator's back, namespaces created and removed.
// Each operation is retried until it is applied (faults make calls fail), and one target (a path,
// a definition) has at most one operation in flight, so the ledger's newest value is Vault's.

import type { VaultAdmin } from '../test/harness/vault.ts';
import type { Ledger } from './ledger.ts';
import type { Prng } from './prng.ts';
import {
  definitionGroup,
  definitionKind,
  definitionPlural,
  definitionVersion,
  mergePatch,
  pause,
  statusOf,
  type SoakKube,
} from './kube.ts';

export type OperationKind =
  | 'create'
  | 'delete'
  | 'repoint'
  | 'rotate'
  | 'kv-delete-restore'
  | 'edit-secret'
  | 'delete-secret'
  | 'create-namespace'
  | 'delete-namespace';

export interface LoadOptions {
  /** Definitions to hold, about. */
  readonly n: number;
  readonly paths: number;
  /** The namespaces that live for the whole run. */
  readonly namespaces: number;
  /** A prefix for namespaces and Vault paths, unique to the run. */
  readonly run: string;
}

interface Definition {
  readonly namespace: string;
  path: string;
}

/** Operation weights: rotations dominate, as in production. */
const weights: readonly (readonly [OperationKind | 'churn', number])[] = [
  ['rotate', 35],
  ['churn', 30],
  ['kv-delete-restore', 5],
  ['repoint', 10],
  ['edit-secret', 10],
  ['delete-secret', 8],
  ['create-namespace', 2],
  ['delete-namespace', 2],
];

export class Load {
  readonly #kube: SoakKube;
  readonly #vault: VaultAdmin;
  readonly #ledger: Ledger;
  readonly #prng: Prng;
  readonly #options: LoadOptions;
  readonly #definitions = new Map<string, Definition>();
  readonly #busy = new Set<string>();
  readonly #ephemeral: string[] = [];
  /** Each path's newest KV version, as its last write answered. */
  readonly #versions = new Map<string, number>();
  #nextId = 0;
  #nextNamespace = 0;
  #tamper = 0;
  readonly applied = new Map<OperationKind, number>();
  /** Calls that failed and were retried. */
  retries = 0;

  constructor(kube: SoakKube, vault: VaultAdmin, ledger: Ledger, prng: Prng, options: LoadOptions) {
    this.#kube = kube;
    this.#vault = vault;
    this.#ledger = ledger;
    this.#prng = prng;
    this.#options = options;
  }

  /** The namespaces that live for the whole run. */
  get fixedNamespaces(): string[] {
    return Array.from({ length: this.#options.namespaces }, (_, k) => `${this.#options.run}-${k}`);
  }

  /** A Vault path as a definition names it. */
  pathOf(p: number): string {
    return `secret/${this.#options.run}/p${p}`;
  }

  get operations(): number {
    let total = 0;
    for (const count of this.applied.values()) total += count;
    return total;
  }

  /** Namespaces, every path's first value, and `n` definitions, `concurrency` at a time. */
  async seed(concurrency: number, signal: AbortSignal): Promise<void> {
    for (const name of this.fixedNamespaces)
      await this.#kube.core.createNamespace({ body: { metadata: { name } } });
    await pool(this.#options.paths, concurrency, (p) => this.#rotate(this.pathOf(p), signal));
    await pool(this.#options.n, concurrency, () => this.#create(signal));
    for (const namespace of this.fixedNamespaces) await this.#foreign(namespace);
    this.applied.clear();
  }

  /** Starts one seeded operation every 1/`rate` s until `signal` aborts; answers when all have ended. */
  async run(rate: number, signal: AbortSignal): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const gapMs = 1000 / rate;
    let next = Date.now();
    while (!signal.aborted) {
      // Bounded: a fault that stops every call does not pile up thousands of retry loops.
      if (inFlight.size < 32) {
        const operation = this.#one(signal).catch(() => undefined);
        inFlight.add(operation);
        void operation.finally(() => inFlight.delete(operation));
      }
      next += gapMs;
      await pause(Math.max(0, next - Date.now()), signal);
    }
    await Promise.all(inFlight);
  }

  async #one(signal: AbortSignal): Promise<void> {
    const kind = this.#choose();
    switch (kind) {
      case 'rotate': {
        const path = this.pathOf(this.#prng.below(this.#options.paths));
        return this.#rotate(path, signal);
      }
      case 'kv-delete-restore': {
        const path = this.pathOf(this.#prng.below(this.#options.paths));
        return this.#deleteAndRestore(path, signal);
      }
      case 'create':
        return this.#create(signal);
      case 'delete':
        return this.#withDefinition(signal, (key) => this.#delete(key, signal));
      case 'repoint':
        return this.#withDefinition(signal, (key, d) => this.#repoint(key, d, signal));
      case 'edit-secret':
        return this.#withDefinition(signal, (key, d) => this.#editSecret(key, d, signal));
      case 'delete-secret':
        return this.#withDefinition(signal, (key, d) => this.#deleteSecret(key, d, signal));
      case 'create-namespace':
        return this.#createNamespace(signal);
      case 'delete-namespace':
        return this.#deleteNamespace(signal);
    }
  }

  #choose(): OperationKind {
    const total = weights.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.#prng.below(total);
    for (const [kind, weight] of weights) {
      if (roll < weight) {
        if (kind !== 'churn') return kind;
        // Creates and deletes hold the count about n.
        return this.#prng.next() * 2 * this.#options.n < this.#options.n * 2 - this.#definitions.size
          ? 'create'
          : 'delete';
      }
      roll -= weight;
    }
    return 'rotate';
  }

  #count(kind: OperationKind): void {
    this.applied.set(kind, (this.applied.get(kind) ?? 0) + 1);
  }

  /** Retries `call` until it answers true (done) or `signal` aborts; false if it never got done. */
  async #retry(signal: AbortSignal, call: () => Promise<boolean>): Promise<boolean> {
    while (!signal.aborted) {
      try {
        if (await call()) return true;
      } catch {
        this.retries += 1;
      }
      await pause(1_000, signal);
    }
    return false;
  }

  async #rotate(path: string, signal: AbortSignal): Promise<void> {
    if (this.#busy.has(path)) return;
    this.#busy.add(path);
    try {
      const value = `v-${nameOf(path)}-${this.#ledger.generation(path)}`;
      this.#ledger.willWrite(path, value);
      const done = await this.#retry(signal, async () => {
        const answer = (await this.#vault.call('POST', `secret/data/${path.slice('secret/'.length)}`, {
          data: { v: value, n: nameOf(path) },
        })) as { data?: { version?: number } };
        if (typeof answer.data?.version === 'number') this.#versions.set(path, answer.data.version);
        return true;
      });
      if (done) this.#count('rotate');
    } finally {
      this.#busy.delete(path);
    }
  }

  /**
   * Rotates up to `count` paths at once (those no other operation holds), so the leader has work in
   * flight; answers how many were written.
   */
  async burst(count: number, signal: AbortSignal): Promise<number> {
    const free = Array.from({ length: this.#options.paths }, (_, p) => this.pathOf(p)).filter(
      (path) => !this.#busy.has(path),
    );
    const chosen = free.slice(0, count);
    const before = this.applied.get('rotate') ?? 0;
    await Promise.all(chosen.map((path) => this.#rotate(path, signal)));
    return (this.applied.get('rotate') ?? 0) - before;
  }

  /**
   * Deletes the newest KV version of `path` (a soft delete: Vault answers it as gone) and restores
   * it three seconds later. The operator must keep the Secrets it wrote from it, and a definition
   * created meanwhile gets its Secret after the restore.
   */
  async #deleteAndRestore(path: string, signal: AbortSignal): Promise<void> {
    const version = this.#versions.get(path);
    if (version === undefined || this.#busy.has(path)) return;
    this.#busy.add(path);
    const kvPath = path.slice('secret/'.length);
    try {
      const deleted = await this.#retry(signal, async () => {
        await this.#vault.call('POST', `secret/delete/${kvPath}`, { versions: [version] });
        return true;
      });
      if (!deleted) return;
      await pause(3_000, signal);
      // Restored whatever the signal says: the run must not end with a path that is gone.
      const restored = await this.#retry(AbortSignal.timeout(300_000), async () => {
        await this.#vault.call('POST', `secret/undelete/${kvPath}`, { versions: [version] });
        return true;
      });
      if (restored) this.#count('kv-delete-restore');
    } finally {
      this.#busy.delete(path);
    }
  }

  #namespaces(): string[] {
    return [...this.fixedNamespaces, ...this.#ephemeral];
  }

  async #create(signal: AbortSignal): Promise<void> {
    const id = this.#nextId++;
    const namespace = this.#prng.pick(this.#namespaces());
    const definition: Definition = {
      namespace,
      path: this.pathOf(this.#prng.below(this.#options.paths)),
    };
    const key = `${namespace}/d${id}`;
    this.#busy.add(key);
    try {
      const done = await this.#retry(signal, async () => {
        try {
          await this.#createDefinition(namespace, `d${id}`, `s${id}`, definition.path);
        } catch (error) {
          // 409: an earlier try that seemed to fail was applied; 404/403: its namespace went away.
          if (statusOf(error) === 409) return true;
          if (statusOf(error) === 404 || statusOf(error) === 403) return true;
          throw error;
        }
        return true;
      });
      if (done && this.#namespaces().includes(namespace)) {
        this.#definitions.set(key, definition);
        this.#count('create');
      }
    } finally {
      this.#busy.delete(key);
    }
  }

  /** A SecretDefinition `name` in `namespace` keeping Secret `secret` from Vault `path`. */
  async #createDefinition(namespace: string, name: string, secret: string, path: string): Promise<void> {
    await this.#kube.custom.createNamespacedCustomObject({
      group: definitionGroup,
      version: definitionVersion,
      namespace,
      plural: definitionPlural,
      body: {
        apiVersion: `${definitionGroup}/${definitionVersion}`,
        kind: definitionKind,
        metadata: { name },
        spec: { name: secret, keysMap: keysMapOf(path) },
      },
    });
  }

  /**
   * A Secret the operator does not own, and a definition that names it: the operator must refuse
   * it (SecretNotOwned) and never write it. Neither is churned.
   */
  async #foreign(namespace: string): Promise<void> {
    const name = 'foreign';
    const secret = await this.#kube.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name }, stringData: { v: 'not-the-operators' } },
    });
    this.#ledger.foreign.set(`${namespace}/${name}`, secret.metadata?.resourceVersion ?? '');
    await this.#createDefinition(namespace, 'wants-foreign', name, this.pathOf(0));
  }

  /** Runs `operation` on a random definition no other operation holds; nothing if none is free. */
  async #withDefinition(
    signal: AbortSignal,
    operation: (key: string, definition: Definition) => Promise<void>,
  ): Promise<void> {
    const keys = [...this.#definitions.keys()];
    if (keys.length === 0 || signal.aborted) return;
    const key = this.#prng.pick(keys);
    const definition = this.#definitions.get(key);
    if (!definition || this.#busy.has(key)) return;
    this.#busy.add(key);
    try {
      await operation(key, definition);
    } finally {
      this.#busy.delete(key);
    }
  }

  #target(key: string): { namespace: string; name: string; id: string } {
    const [namespace = '', name = ''] = key.split('/');
    return { namespace, name, id: name.slice(1) };
  }

  async #delete(key: string, signal: AbortSignal): Promise<void> {
    const { namespace, name } = this.#target(key);
    const done = await this.#retry(signal, async () => {
      await this.#kube.custom
        .deleteNamespacedCustomObject({
          group: definitionGroup,
          version: definitionVersion,
          namespace,
          plural: definitionPlural,
          name,
        })
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      return true;
    });
    if (done) {
      this.#definitions.delete(key);
      this.#count('delete');
    }
  }

  async #repoint(key: string, definition: Definition, signal: AbortSignal): Promise<void> {
    const { namespace, name } = this.#target(key);
    const path = this.pathOf(this.#prng.below(this.#options.paths));
    const done = await this.#retry(signal, async () => {
      await this.#kube.custom
        .patchNamespacedCustomObject(
          {
            group: definitionGroup,
            version: definitionVersion,
            namespace,
            plural: definitionPlural,
            name,
            body: { spec: { keysMap: keysMapOf(path) } },
          },
          mergePatch,
        )
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      return true;
    });
    if (done) {
      definition.path = path;
      this.#count('repoint');
    }
  }

  async #editSecret(key: string, definition: Definition, signal: AbortSignal): Promise<void> {
    const { id } = this.#target(key);
    const value = `tampered-${this.#tamper++}`;
    this.#ledger.willTamper(value);
    const done = await this.#retry(signal, async () => {
      await this.#kube.core
        .patchNamespacedSecret(
          {
            namespace: definition.namespace,
            name: `s${id}`,
            body: { data: { v: Buffer.from(value).toString('base64') } },
          },
          mergePatch,
        )
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      return true;
    });
    if (done) this.#count('edit-secret');
  }

  async #deleteSecret(key: string, definition: Definition, signal: AbortSignal): Promise<void> {
    const { id } = this.#target(key);
    const done = await this.#retry(signal, async () => {
      await this.#kube.core
        .deleteNamespacedSecret({ namespace: definition.namespace, name: `s${id}` })
        .catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      return true;
    });
    if (done) this.#count('delete-secret');
  }

  async #createNamespace(signal: AbortSignal): Promise<void> {
    if (this.#ephemeral.length >= 2) return;
    const name = `${this.#options.run}-e${this.#nextNamespace++}`;
    const done = await this.#retry(signal, async () => {
      await this.#kube.core.createNamespace({ body: { metadata: { name } } }).catch((error: unknown) => {
        if (statusOf(error) !== 409) throw error;
      });
      return true;
    });
    if (done) {
      this.#ephemeral.push(name);
      this.#count('create-namespace');
    }
  }

  async #deleteNamespace(signal: AbortSignal): Promise<void> {
    const name = this.#ephemeral.shift();
    if (name === undefined) return;
    for (const key of [...this.#definitions.keys()])
      if (key.startsWith(`${name}/`)) this.#definitions.delete(key);
    const done = await this.#retry(signal, async () => {
      await this.#kube.core.deleteNamespace({ name }).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
      return true;
    });
    if (done) this.#count('delete-namespace');
  }

  /** Every namespace the run made, for the clean-up. */
  allNamespaces(): string[] {
    return [
      ...this.fixedNamespaces,
      ...Array.from({ length: this.#nextNamespace }, (_, k) => `${this.#options.run}-e${k}`),
    ];
  }
}

/** Two keys from one path: v, which rotates, and n, which never changes. */
export function keysMapOf(path: string): Record<string, { path: string; key: string }> {
  return { v: { path, key: 'v' }, n: { path, key: 'n' } };
}

/** The path's last segment, which Vault also holds under key n: a second key every Secret must keep. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Runs `count` tasks with at most `concurrency` at once. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
