// The independent checker: written without the operator's code, it watches every definition,
// managed Secret and namespace of the run, and holds them to what the load asked for and what
// Vault held (the ledger). It flags a Secret that is blank or lacks a key its definition names,
// one that holds a value Vault never gave any path its definition named, one written for a
// definition that names another Secret, one that outlives its definition, and any write to a
// Secret the operator does not own; and it answers when every definition is correct again after a
// fault.

import {
  makeInformer,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1Namespace,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Ledger } from './ledger.ts';
import {
  incorrectDefinitions,
  keyOf,
  snapshotOf,
  untilCorrect,
  type ClusterView,
  type DefinitionObject,
  type Snapshot,
} from './recovery.ts';
import {
  definitionGroup,
  definitionKind,
  definitionPlural,
  definitionVersion,
  managedByLabel,
  managedByValue,
  ownerAnnotation,
  pause,
  type SoakKube,
} from './kube.ts';

export interface Violation {
  readonly kind:
    | 'blank'
    | 'lost-key'
    | 'foreign-value'
    | 'wrong-owner'
    | 'orphan'
    | 'foreign-written'
    | 'second-writer'
    | 'not-recovered'
    | 'not-converged'
    | 'memory-growth';
  /** ISO time it was seen. */
  readonly at: string;
  readonly what: string;
}

export interface CheckerOptions {
  /** Only namespaces starting with this are the run's. */
  readonly prefix: string;
  /** How long a Secret may outlive its definition (the garbage collector's part). */
  readonly orphanGraceMs: number;
  /** How long a value may look foreign before it is one (the definition's change may be in flight to the watch). */
  readonly foreignGraceMs: number;
  readonly log: (line: string) => void;
}

/** Which of Vault's values `value` is: its path and its index in that path's history, if any. */
export function valueOrigin(
  value: string,
  paths: Iterable<string>,
  ledger: Pick<Ledger, 'valuesOf'>,
): { path: string; index: number } | undefined {
  for (const path of paths) {
    const index = ledger.valuesOf(path).indexOf(value);
    if (index >= 0) return { path, index };
  }
  return undefined;
}

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export class Checker {
  readonly #kube: SoakKube;
  readonly #ledger: Ledger;
  readonly #options: CheckerOptions;
  readonly violations: Violation[] = [];
  /** Every path each definition has named, as the checker saw it. */
  readonly #pathsOf = new Map<string, Set<string>>();
  readonly #suspectSince = new Map<string, number>();
  readonly #orphanSince = new Map<string, number>();
  readonly #flagged = new Set<string>();
  #definitions: Cached<DefinitionObject> | undefined;
  #secrets: Cached<V1Secret> | undefined;
  #namespaces: Cached<V1Namespace> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(kube: SoakKube, ledger: Ledger, options: CheckerOptions) {
    this.#kube = kube;
    this.#ledger = ledger;
    this.#options = options;
  }

  async start(): Promise<void> {
    const { config, core, custom } = this.#kube;
    const selector = `${managedByLabel}=${managedByValue}`;
    this.#secrets = this.#informer(
      makeInformer<V1Secret>(
        config,
        '/api/v1/secrets',
        () => core.listSecretForAllNamespaces({ labelSelector: selector }),
        selector,
      ),
    );
    this.#namespaces = this.#informer(
      makeInformer<V1Namespace>(config, '/api/v1/namespaces', () => core.listNamespace()),
    );
    const definitions = this.#informer(
      makeInformer<DefinitionObject>(
        config,
        `/apis/${definitionGroup}/${definitionVersion}/${definitionPlural}`,
        () =>
          custom.listClusterCustomObject({
            group: definitionGroup,
            version: definitionVersion,
            plural: definitionPlural,
          }) as Promise<{ items: DefinitionObject[] }>,
      ),
    );
    const remember = (d: DefinitionObject): void => {
      const path = d.spec?.keysMap?.v?.path;
      if (typeof path !== 'string') return;
      const key = keyOf(d);
      const paths = this.#pathsOf.get(key) ?? new Set<string>();
      paths.add(path);
      this.#pathsOf.set(key, paths);
    };
    definitions.on('add', remember);
    definitions.on('update', remember);
    this.#definitions = definitions;
    await Promise.all([this.#secrets.start(), this.#namespaces.start(), definitions.start()]);
    for (const d of definitions.list()) remember(d);
    this.#timer = setInterval(() => this.#check(), 1_000);
  }

  /**
   * Restarted a second after any error, the apiserver restarts under it; a start fails while the
   * apiserver is away, so it is tried again until it lists.
   */
  #informer<T extends KubernetesObject>(informer: Cached<T>): Cached<T> {
    const restart = async (): Promise<void> => {
      while (!this.#stopped) {
        await pause(1_000);
        try {
          await informer.start();
          return;
        } catch {
          // The apiserver is not back yet.
        }
      }
    };
    informer.on('error', () => {
      if (!this.#stopped) void restart();
    });
    return informer;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await Promise.all([this.#secrets?.stop(), this.#namespaces?.stop(), this.#definitions?.stop()]);
  }

  #ours(namespace: string | undefined): boolean {
    return namespace?.startsWith(this.#options.prefix) ?? false;
  }

  #flag(kind: Violation['kind'], once: string, what: string): void {
    if (this.#flagged.has(once)) return;
    this.#flagged.add(once);
    const violation = { kind, at: new Date().toISOString(), what };
    this.violations.push(violation);
    this.#options.log(`VIOLATION ${kind}: ${what}`);
  }

  #check(): void {
    const secrets = this.#secrets?.list() ?? [];
    const now = Date.now();
    for (const secret of secrets) {
      const namespace = secret.metadata?.namespace;
      if (!this.#ours(namespace)) continue;
      const key = `${namespace ?? ''}/${secret.metadata?.name ?? ''}`;
      const version = secret.metadata?.resourceVersion ?? '';
      const owner = ownerOf(secret);
      if (this.#ledger.foreign.has(key)) {
        this.#flag(
          'foreign-written',
          `foreign ${key} ${version}`,
          `Secret ${key}, not the operator's, carries its label`,
        );
        continue;
      }
      const definition = owner === undefined ? undefined : this.#definitions?.get(owner, namespace);
      if (definition && definition.spec?.name !== secret.metadata?.name) {
        this.#flag(
          'wrong-owner',
          `owner ${key} ${version}`,
          `Secret ${key} names definition ${owner ?? ''} as its owner, which asks for Secret ${String(definition.spec?.name)}`,
        );
      }
      const encoded = secret.data?.['v'];
      if (!encoded) {
        this.#flag(
          'blank',
          `blank ${key} ${version}`,
          `Secret ${key} (resourceVersion ${version}) has no value v`,
        );
        continue;
      }
      const missing = Object.keys(definition?.spec?.keysMap ?? {}).filter((k) => !secret.data?.[k]);
      if (missing.length > 0) {
        this.#flag(
          'lost-key',
          `lost ${key} ${version}`,
          `Secret ${key} (resourceVersion ${version}) lacks ${missing.join(', ')}, which its definition names`,
        );
      }
      const value = Buffer.from(encoded, 'base64').toString();
      const definitionKey = `${namespace ?? ''}/${owner ?? ''}`;
      const explained =
        this.#ledger.isTampered(value) ||
        valueOrigin(value, this.#pathsOf.get(definitionKey) ?? [], this.#ledger) !== undefined;
      const suspect = `${key}=${value}`;
      if (explained) this.#suspectSince.delete(suspect);
      else {
        const since = this.#suspectSince.get(suspect) ?? now;
        this.#suspectSince.set(suspect, since);
        if (now - since > this.#options.foreignGraceMs) {
          const paths = [...(this.#pathsOf.get(definitionKey) ?? [])].join(', ') || 'none seen';
          this.#flag(
            'foreign-value',
            suspect,
            `Secret ${key} holds "${value}", which Vault never held for definition ${definitionKey} (paths ${paths})`,
          );
        }
      }
      const alive = definition !== undefined;
      if (alive) this.#orphanSince.delete(key);
      else {
        const since = this.#orphanSince.get(key) ?? now;
        this.#orphanSince.set(key, since);
        if (now - since > this.#options.orphanGraceMs) {
          this.#flag(
            'orphan',
            `orphan ${key} ${since}`,
            `Secret ${key} has outlived its definition ${definitionKey} by ${((now - since) / 1000).toFixed(0)}s ` +
              `(created ${String(secret.metadata?.creationTimestamp)}, owners ${JSON.stringify(secret.metadata?.ownerReferences?.map((r) => r.uid) ?? [])}, ` +
              `written ${JSON.stringify(secret.metadata?.managedFields?.map((f) => `${f.manager ?? ''} ${f.operation ?? ''} ${String(f.time)}`) ?? [])})`,
          );
        }
      }
    }
  }

  /** Each path's newest value and every live definition of the run, now. */
  snapshot(): Snapshot {
    const ours = (this.#definitions?.list() ?? []).filter((d) => this.#ours(d.metadata?.namespace));
    return snapshotOf(ours, this.#ledger, Date.now());
  }

  /**
   * Waits until every definition of `snapshot` is correct (see recovery.ts): the seconds it took,
   * or undefined after `giveUpMs`, and the definitions still wrong once `budgetMs` had passed.
   */
  untilCorrect(
    snapshot: Snapshot,
    budgetMs: number,
    giveUpMs: number,
  ): Promise<{ seconds?: number; wrong: string[] }> {
    const view: ClusterView = {
      definitions: () => this.#definitions?.list() ?? [],
      secret: (name, namespace) => this.#secrets?.get(name, namespace),
      namespacePhase: (namespace) => this.#namespaces?.get(namespace)?.status?.phase,
    };
    return untilCorrect(
      () => incorrectDefinitions(view, this.#ledger, snapshot),
      snapshot.at,
      budgetMs,
      giveUpMs,
    );
  }

  /**
   * The run's end: waits up to `graceMs` for every managed Secret to have a live definition, then
   * flags each that has none; and flags each foreign Secret that was written (its resourceVersion
   * moved, or it is gone).
   */
  async finish(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    const orphans = (): string[] =>
      (this.#secrets?.list() ?? [])
        .filter((s) => this.#ours(s.metadata?.namespace) && !this.#ledger.foreign.has(keyOf(s)))
        .filter((s) => {
          const owner = ownerOf(s);
          return owner === undefined || this.#definitions?.get(owner, s.metadata?.namespace) === undefined;
        })
        .map(keyOf);
    while (orphans().length > 0 && Date.now() < deadline) await pause(500);
    for (const key of orphans())
      this.#flag(
        'orphan',
        `final orphan ${key}`,
        `Secret ${key} outlived its definition to the end of the run`,
      );
    for (const [key, version] of this.#ledger.foreign) {
      const [namespace = '', name = ''] = key.split('/');
      const now = await this.#kube.core
        .readNamespacedSecret({ namespace, name })
        .then((s) => s.metadata?.resourceVersion ?? '')
        .catch(() => 'gone');
      if (now !== version) {
        this.#flag(
          'foreign-written',
          `foreign ${key} final`,
          `Secret ${key}, not the operator's, went from resourceVersion ${version} to ${now}`,
        );
      }
    }
  }

  /** Records a violation found by the run itself (a fault not recovered in time). */
  flag(kind: Violation['kind'], what: string): void {
    this.#flag(kind, `${kind} ${what}`, what);
  }
}

/** The definition a managed Secret names as its owner: the operator's annotation, or its owner reference. */
function ownerOf(secret: V1Secret): string | undefined {
  return (
    secret.metadata?.annotations?.[ownerAnnotation] ??
    secret.metadata?.ownerReferences?.find((r) => r.kind === definitionKind)?.name
  );
}
