// Rollout restarts, the imperative part: after a definition's Secret is in sync, the workloads that
// must restart for it (the definition's rolloutRestartTargets, and the auto-reload workloads whose
// pods read the Secret) get their pod template patched, at most once per --rollout-restart-interval
// per workload: restarts asked for meanwhile are folded into the next one. Each restart is an Event
// on the workload and on the definition, and a count in secrets_manager_rollout_restarts_total.

import type { Clock, Timer } from '../clock.ts';
import type { EventRecorder } from '../kube/events.ts';
import { dataDigest, restartNeeded, workloadKey, type Workload, type WorkloadKind } from './rollout.ts';

/** A definition's explicit restart target. */
export interface RestartTarget {
  readonly kind: WorkloadKind;
  readonly name: string;
}

/** Who asked for a restart, for the Events. */
interface Cause {
  readonly definition: { readonly namespace: string; readonly name: string; readonly uid: string };
  readonly secret: string;
}

export interface RestarterDeps {
  /** The cached workload, if the cluster has it. */
  workload(kind: WorkloadKind, namespace: string, name: string): Workload | undefined;
  /** The auto-reload workloads of `namespace` whose pods read Secret `secret`. */
  autoReloaders(namespace: string, secret: string): readonly Workload[];
  /** Patches the pod template's restarted-for map: the workload rolls its pods. */
  patch(workload: Workload, restartedFor: Readonly<Record<string, string>>): Promise<Workload | undefined>;
  /** Keeps the patched workload (patched from version `basedOn`) in the cache until its watch event arrives. */
  remember(workload: Workload, basedOn: string): void;
  readonly events: EventRecorder;
  readonly clock: Clock;
  /** The least time between two restarts of one workload. */
  readonly minIntervalMs: number;
  readonly observer: { restarted(kind: WorkloadKind): void };
  readonly logger: {
    info(message: string, fields?: Record<string, unknown>): void;
    warn(message: string, fields?: Record<string, unknown>): void;
  };
}

interface Pending {
  readonly workload: { readonly kind: WorkloadKind; readonly namespace: string; readonly name: string };
  /** Secret -> digest to restart for. */
  readonly digests: Map<string, string>;
  readonly causes: Cause[];
  timer: Timer | undefined;
  failures: number;
}

/** The most Secrets one pod template remembers (an explicit target may read none of them). */
const maxRemembered = 50;
const maxRetryMs = 5 * 60_000;

export class Restarter {
  readonly #deps: RestarterDeps;
  readonly #pending = new Map<string, Pending>();
  /** When each workload was last restarted, on the monotonic clock. */
  readonly #last = new Map<string, number>();
  #stopped = false;

  constructor(deps: RestarterDeps) {
    this.#deps = deps;
  }

  /**
   * The definition's Secret is in sync and holds data hashed as `dataHashes`; `dataChanged` when
   * this sync wrote other data than the Secret held. Answers the explicit targets the namespace
   * does not have.
   */
  secretInSync(
    definition: Cause['definition'],
    targets: readonly RestartTarget[],
    secret: {
      readonly name: string;
      readonly uid: string;
      /** Data key -> hash of its value, as the Secret cache keeps it. */
      readonly dataHashes: Readonly<Record<string, string>>;
    },
    dataChanged: boolean,
  ): RestartTarget[] {
    const digest = dataDigest(secret.uid, secret.dataHashes);
    const missing: RestartTarget[] = [];
    const workloads = new Map<string, Workload>();
    for (const target of targets) {
      const found = this.#deps.workload(target.kind, definition.namespace, target.name);
      if (found) workloads.set(workloadKey(found.kind, found.namespace, found.name), found);
      else missing.push(target);
    }
    for (const found of this.#deps.autoReloaders(definition.namespace, secret.name))
      workloads.set(workloadKey(found.kind, found.namespace, found.name), found);
    for (const [key, workload] of workloads) {
      const pending = this.#pending.get(key)?.digests.get(secret.name);
      if (pending === digest) continue;
      if (pending === undefined && !restartNeeded(workload, secret.name, digest, dataChanged)) continue;
      this.#ask(key, workload, { definition, secret: secret.name }, digest);
    }
    return missing;
  }

  /** Drops every pending restart: the operator stops, or lost its leadership. */
  stop(): void {
    this.#stopped = true;
    for (const pending of this.#pending.values()) pending.timer?.cancel();
    this.#pending.clear();
  }

  #ask(key: string, workload: Workload, cause: Cause, digest: string): void {
    if (this.#stopped) return;
    const pending: Pending = this.#pending.get(key) ?? {
      workload,
      digests: new Map<string, string>(),
      causes: [],
      timer: undefined,
      failures: 0,
    };
    pending.digests.set(cause.secret, digest);
    pending.causes.push(cause);
    this.#pending.set(key, pending);
    if (pending.timer) return;
    const last = this.#last.get(key);
    const wait = last === undefined ? 0 : last + this.#deps.minIntervalMs - this.#deps.clock.monotonic();
    pending.timer = this.#deps.clock.after(Math.max(0, wait), () => void this.#restart(key, pending));
  }

  async #restart(key: string, pending: Pending): Promise<void> {
    const { kind, namespace, name } = pending.workload;
    const current = this.#deps.workload(kind, namespace, name);
    this.#pending.delete(key);
    if (!current || this.#stopped) return;
    const restartedFor = this.#merged(current, pending.digests);
    const secrets = [...pending.digests.keys()];
    try {
      const patched = await this.#deps.patch(current, restartedFor);
      if (patched) this.#deps.remember(patched, current.resourceVersion);
    } catch (error) {
      this.#retryLater(key, pending, error);
      return;
    }
    this.#last.set(key, this.#deps.clock.monotonic());
    this.#deps.observer.restarted(kind);
    const because = `the data of Secret ${secrets.join(', ')} changed`;
    this.#deps.logger.info('workload restarted', { kind, namespace, name, secrets });
    void this.#deps.events.record(
      { namespace, name, uid: current.uid, apiVersion: 'apps/v1', kind },
      'Normal',
      'RolloutRestarted',
      `restarted by secrets-manager: ${because}`,
    );
    const told = new Set<string>();
    for (const { definition } of pending.causes) {
      if (told.has(definition.uid)) continue;
      told.add(definition.uid);
      void this.#deps.events.record(
        definition,
        'Normal',
        'RolloutRestarted',
        `restarted ${kind} ${name}: ${because}`,
      );
    }
  }

  /** The workload's restarted-for map with the new digests, bounded, entries it still reads first. */
  #merged(workload: Workload, digests: ReadonlyMap<string, string>): Record<string, string> {
    const merged = new Map(Object.entries(workload.restartedFor));
    for (const [secret, digest] of digests) merged.set(secret, digest);
    const reads = new Set(workload.secrets);
    const kept = [...merged].sort(
      ([a], [b]) => Number(!(digests.has(a) || reads.has(a))) - Number(!(digests.has(b) || reads.has(b))),
    );
    return Object.fromEntries(kept.slice(0, maxRemembered));
  }

  #retryLater(key: string, pending: Pending, error: unknown): void {
    if (this.#stopped) return;
    const { kind, namespace, name } = pending.workload;
    pending.failures += 1;
    const delay = Math.min(maxRetryMs, this.#deps.minIntervalMs * 2 ** (pending.failures - 1));
    this.#deps.logger.warn('workload restart failed; retrying', {
      kind,
      namespace,
      name,
      retryInSeconds: Math.round(delay / 1000),
      error: error instanceof Error ? error.message : String(error),
    });
    // Asked again meanwhile: that request has its own timer and carries these digests too.
    const newer = this.#pending.get(key);
    if (newer) {
      for (const [secret, digest] of pending.digests)
        if (!newer.digests.has(secret)) newer.digests.set(secret, digest);
      newer.causes.push(...pending.causes);
      return;
    }
    pending.timer = this.#deps.clock.after(delay, () => void this.#restart(key, pending));
    this.#pending.set(key, pending);
  }
}
