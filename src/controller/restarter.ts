// Rollout restarts, the imperative part: after a definition's Secret is in sync, the workloads that
// must restart for it (the definition's rolloutRestartTargets, and the auto-reload workloads whose
// pods read the Secret) get their pod template patched, at most once per --rollout-restart-interval
// per workload: restarts asked for meanwhile, or while a patch is on its way, are folded into the
// next one. A patch names the workload version it was computed from, so it never writes over a
// change it did not see. Each restart is an Event on the workload and on the definition, and a
// count in secrets_manager_rollout_restarts_total.

import { reasons, type ConditionUpdate } from '../api/conditions.ts';
import type { Clock, Timer } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Workload, WorkloadKind } from '../kube/workload.ts';
import { restartCandidates, type RestartTarget, type TargetProblem } from './rollout.ts';

export type { RestartTarget, TargetProblem } from './rollout.ts';

/** Who asked for a restart, for the Events. */
interface Cause {
  readonly definition: { readonly namespace: string; readonly name: string; readonly uid: string };
  readonly secret: string;
}

/** What a failed patch says: its HTTP status, when there was one (a KubeError). */
interface PatchFailure {
  readonly status?: unknown;
}

export interface RestarterDeps {
  /** The cached workload, if the cluster has it. */
  workload(kind: WorkloadKind, namespace: string, name: string): Workload | undefined;
  /** The auto-reload workloads of `namespace` whose pods read Secret `secret`. */
  autoReloaders(namespace: string, secret: string): readonly Workload[];
  /**
   * Patches the pod template's restarted-for map, on the condition that the workload is still at
   * `workload.resourceVersion`: the workload rolls its pods.
   */
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
  /** Secret -> data id to restart for. */
  readonly dataIds: Map<string, string>;
  readonly causes: Cause[];
  timer: Timer | undefined;
  failures: number;
}

const maxRetryMs = 5 * 60_000;
/** Answers that a retry cannot change: the workload is gone, or the operator may not patch it. */
const permanent = new Set([400, 401, 403, 404, 422]);

export class Restarter {
  readonly #deps: RestarterDeps;
  readonly #pending = new Map<string, Pending>();
  /** When each workload was last restarted (or a restart began), on the monotonic clock. */
  readonly #last = new Map<string, number>();
  #stopped = false;

  constructor(deps: RestarterDeps) {
    this.#deps = deps;
  }

  /**
   * The definition's Secret is in sync, holding the data of id `dataId` (undefined: none yet, so
   * nothing restarts); `dataChanged` when this sync wrote other data than the Secret held. Answers the explicit targets that are not
   * restarted, and why: only a workload whose pods read the Secret is restarted for it.
   */
  secretInSync(
    definition: Cause['definition'],
    targets: readonly RestartTarget[],
    secret: { readonly name: string; readonly dataId: string | undefined },
    dataChanged: boolean,
  ): TargetProblem[] {
    const { problems, candidates } = restartCandidates(
      targets,
      {
        workload: (kind, name) => this.#deps.workload(kind, definition.namespace, name),
        autoReloaders: () => this.#deps.autoReloaders(definition.namespace, secret.name),
      },
      secret,
      dataChanged,
    );
    const dataId = secret.dataId;
    if (dataId === undefined) return problems;
    for (const { key, workload, needed } of candidates) {
      const pending = this.#pending.get(key)?.dataIds.get(secret.name);
      if (pending === dataId) continue;
      if (pending === undefined && !needed) continue;
      this.#ask(key, workload, { definition, secret: secret.name }, dataId);
    }
    return problems;
  }

  /** Drops every pending restart: the operator stops, or lost its leadership. */
  stop(): void {
    this.#stopped = true;
    for (const pending of this.#pending.values()) pending.timer?.cancel();
    this.#pending.clear();
  }

  #ask(key: string, workload: Workload, cause: Cause, dataId: string): void {
    if (this.#stopped) return;
    const pending: Pending = this.#pending.get(key) ?? {
      workload,
      dataIds: new Map<string, string>(),
      causes: [],
      timer: undefined,
      failures: 0,
    };
    pending.dataIds.set(cause.secret, dataId);
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
    // Taken now, not when the patch returns: a restart asked for meanwhile waits its interval.
    const now = this.#deps.clock.monotonic();
    this.#prune(now);
    this.#last.set(key, now);
    const restartedFor = merged(current, pending.dataIds);
    const secrets = [...pending.dataIds.keys()];
    try {
      const patched = await this.#deps.patch(current, restartedFor);
      if (patched) this.#deps.remember(patched, current.resourceVersion);
    } catch (error) {
      this.#retryLater(key, pending, error);
      return;
    }
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

  #retryLater(key: string, pending: Pending, error: unknown): void {
    if (this.#stopped) return;
    const { kind, namespace, name } = pending.workload;
    const code = (error as PatchFailure | undefined)?.status;
    const status = typeof code === 'number' ? code : undefined;
    const detail = describeError(error);
    if (status !== undefined && permanent.has(status)) {
      this.#deps.logger.warn('workload restart refused; not retried', {
        kind,
        namespace,
        name,
        status,
        error: detail,
      });
      return;
    }
    pending.failures += 1;
    const delay = Math.min(maxRetryMs, this.#deps.minIntervalMs * 2 ** (pending.failures - 1));
    this.#deps.logger.warn('workload restart failed; retrying', {
      kind,
      namespace,
      name,
      retryInSeconds: Math.round(delay / 1000),
      error: detail,
    });
    // Asked again meanwhile: that request has its own timer; it carries these ids too.
    const newer = this.#pending.get(key);
    if (newer) {
      for (const [secret, id] of pending.dataIds)
        if (!newer.dataIds.has(secret)) newer.dataIds.set(secret, id);
      newer.causes.push(...pending.causes);
      return;
    }
    pending.timer = this.#deps.clock.after(delay, () => void this.#restart(key, pending));
    this.#pending.set(key, pending);
  }

  /** Forgets restarts older than the interval: they hold nothing back any more. */
  #prune(now: number): void {
    for (const [key, at] of this.#last) if (now - at >= this.#deps.minIntervalMs) this.#last.delete(key);
  }
}

/** The workload's restarted-for map with the new ids, for the Secrets its pods read. */
function merged(workload: Workload, dataIds: ReadonlyMap<string, string>): Record<string, string> {
  const reads = new Set(workload.secrets);
  const next = Object.fromEntries(
    Object.entries(workload.restartedFor).filter(([secret]) => reads.has(secret)),
  );
  for (const [secret, id] of dataIds) next[secret] = id;
  return next;
}

/**
 * The RolloutRestart condition of a definition: none without targets; False when restarts are off
 * or a target is missing or does not read the Secret (the others are still restarted); else True.
 */
export function rolloutCondition(
  targets: readonly RestartTarget[],
  problems: readonly TargetProblem[] | 'disabled',
  namespace: string,
  secret: string,
): Omit<ConditionUpdate, 'type'> | undefined {
  if (targets.length === 0) return undefined;
  if (problems === 'disabled') {
    return {
      status: 'False',
      reason: reasons.rolloutRestartDisabled,
      message:
        'rolloutRestartTargets are set, but the operator runs without --rollout-restart (chart: rolloutRestart.enabled); nothing is restarted',
    };
  }
  const named = (problem: TargetProblem['problem']): string[] =>
    problems.filter((p) => p.problem === problem).map((p) => `${p.target.kind} ${p.target.name}`);
  const missing = named('not found');
  const unread = named('does not read the Secret');
  if (missing.length === 0 && unread.length === 0) {
    return {
      status: 'True',
      reason: reasons.targetsFound,
      message: `${targets.map((t) => `${t.kind} ${t.name}`).join(', ')} restarted once each time the data of Secret ${secret} changes`,
    };
  }
  const parts = [
    ...(missing.length ? [`${missing.join(', ')} not found in namespace ${namespace}`] : []),
    ...(unread.length
      ? [
          `${unread.join(', ')} not restarted: its pods do not read Secret ${secret} (env, envFrom or a volume)`,
        ]
      : []),
  ];
  return {
    status: 'False',
    reason: missing.length ? reasons.targetNotFound : reasons.targetDoesNotReadSecret,
    message: `${parts.join('; ')}; the other targets are restarted when the data changes`,
  };
}
