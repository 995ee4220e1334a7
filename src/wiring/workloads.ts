// The workloads a rollout restart may patch, cached (with --rollout-restart only): Deployments,
// StatefulSets and DaemonSets of the watched namespaces, kept small (which Secrets their pods read,
// what they were last restarted for), and an index of the auto-reload ones by the Secrets they
// read, so a changed Secret finds its workloads without a scan.

import type { Clock, Random } from '../clock.ts';
import {
  toWorkload,
  workloadKey,
  workloadKinds,
  type Workload,
  type WorkloadKind,
} from '../kube/workload.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { Informer } from '../kube/informer.ts';
import { defaultSyncTimeoutMs, notSyncedReason, waitForSync } from './cache-sync.ts';
import { workloadSource } from '../kube/sources.ts';
import type { Logger } from '../observability/logger.ts';
import type { Runnable } from './manager.ts';
import { watchScope } from './scope.ts';

export interface WorkloadCachesOptions {
  readonly kube: KubeApi;
  readonly watchNamespaces: readonly string[];
  readonly excludeNamespaces: readonly string[];
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** How long the first lists may take before the operator gives up and exits. */
  readonly syncTimeoutMs?: number;
}

export class WorkloadCaches {
  readonly #informers: Informer<Workload>[] = [];
  /** namespace/secret -> keys of the auto-reload workloads whose pods read it. */
  readonly #readers = new Map<string, Set<string>>();
  readonly #byKey = new Map<string, Informer<Workload>>();
  readonly #options: WorkloadCachesOptions;

  constructor(options: WorkloadCachesOptions) {
    this.#options = options;
    const { namespaces, inScope } = watchScope(options.watchNamespaces, options.excludeNamespaces);
    for (const kind of workloadKinds) {
      for (const namespace of namespaces) {
        const informer: Informer<Workload> = new Informer<Workload>({
          source: workloadSource(options.kube, kind, namespace),
          convert: (object) => {
            const workload = toWorkload(kind, object);
            return workload && inScope(workload.namespace) ? workload : undefined;
          },
          keyOf: (w) => workloadKey(w.kind, w.namespace, w.name),
          versionOf: (w) => w.resourceVersion,
          uidOf: (w) => w.uid,
          handlers: {
            upserted: (w, previous) => {
              if (previous) this.#unindex(previous);
              this.#index(w, informer);
            },
            deleted: (w) => {
              this.#unindex(w);
              this.#byKey.delete(workloadKey(w.kind, w.namespace, w.name));
            },
          },
          clock: options.clock,
          random: options.random,
          logger: options.logger,
        });
        this.#informers.push(informer);
      }
    }
  }

  workload(kind: WorkloadKind, namespace: string, name: string): Workload | undefined {
    const key = workloadKey(kind, namespace, name);
    return this.#byKey.get(key)?.get(key);
  }

  autoReloaders(namespace: string, secret: string): Workload[] {
    const keys = this.#readers.get(`${namespace}/${secret}`) ?? new Set<string>();
    return [...keys].flatMap((key) => {
      const found = this.#byKey.get(key)?.get(key);
      return found ? [found] : [];
    });
  }

  /** A workload the operator just patched, known before its watch event arrives. */
  remember(workload: Workload, basedOn: string): void {
    const key = workloadKey(workload.kind, workload.namespace, workload.name);
    this.#byKey.get(key)?.remember(workload, basedOn);
  }

  get synced(): boolean {
    return this.#informers.every((i) => i.synced);
  }

  /** Why the workload caches are not synced, naming those that cannot be listed; undefined once synced. */
  get notSynced(): string | undefined {
    return notSyncedReason('workload caches', this.#informers);
  }

  /** The informers as a runnable: its start waits until every cache has synced. */
  runnable(): Runnable {
    const { clock, logger } = this.#options;
    return {
      name: 'workload caches',
      start: async (signal) => {
        for (const informer of this.#informers) informer.start();
        const timeoutMs = this.#options.syncTimeoutMs ?? defaultSyncTimeoutMs;
        await waitForSync('workload caches', this.#informers, clock, timeoutMs, signal);
        if (!signal.aborted) logger.info('workload caches synced', { autoReload: this.#readers.size });
      },
      stop: async () => void (await Promise.all(this.#informers.map((i) => i.stop()))),
    };
  }

  #index(workload: Workload, informer: Informer<Workload>): void {
    const key = workloadKey(workload.kind, workload.namespace, workload.name);
    this.#byKey.set(key, informer);
    if (!workload.autoReload) return;
    for (const secret of workload.secrets) {
      const id = `${workload.namespace}/${secret}`;
      const readers = this.#readers.get(id) ?? new Set<string>();
      readers.add(key);
      this.#readers.set(id, readers);
    }
  }

  #unindex(workload: Workload): void {
    const key = workloadKey(workload.kind, workload.namespace, workload.name);
    for (const secret of workload.secrets) {
      const id = `${workload.namespace}/${secret}`;
      const readers = this.#readers.get(id);
      if (!readers?.delete(key)) continue;
      if (readers.size === 0) this.#readers.delete(id);
    }
  }
}
