// How a reconcile is reported: the status subresource (patched only when it changes), Events on
// transitions only, log lines and per-definition metrics.

import {
  findCondition,
  readyCondition,
  reasons,
  rolloutRestartCondition,
  setCondition,
  type ConditionUpdate,
  type Reason,
} from '../api/conditions.ts';
import { backendWords } from '../api/backends.ts';
import { formatDuration } from '../api/duration.ts';
import type {
  Backend,
  Condition,
  DynamicStatus,
  PkiStatus,
  SecretDefinition,
  SecretDefinitionStatus,
} from '../api/types.ts';
import type { Clock } from '../clock.ts';
import type { DefinitionWriter } from '../kube/definition-writer.ts';
import { KubeError } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import { describeError } from '../describe-error.ts';

export interface Failure {
  readonly reason: Reason;
  readonly message: string;
  /**
   * backoff: the queue retries with the key's backoff; recheck: look again after the refresh
   * interval; none: a watch or the path poller brings the next try.
   */
  readonly retry: 'backoff' | 'recheck' | 'none';
  /** What the backend said, for the operator's log only (never the status or an Event). */
  readonly detail?: string;
}

/** What the status says of the certificate or lease in the Secret of a PKI or dynamic definition. */
export interface IssuedStatus {
  readonly pki?: PkiStatus;
  readonly dynamic?: DynamicStatus;
}

/** What a sync changed in the Secret, for the log line and the Event. */
export interface Change {
  readonly kind: 'create' | 'recreate' | 'update';
  /** "created Secret db", "updated Secret db (data changed)". */
  readonly text: string;
}

export interface SyncObserver {
  /** The outcome of one reconcile of a valid or invalid definition. */
  synced(namespace: string, name: string, ok: boolean, reason: Reason): void;
}

export interface ReporterLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface ReporterDeps {
  /** Which backend the Secrets are in sync with, for the words of the status. */
  readonly backend: Backend;
  readonly definitions: DefinitionWriter;
  readonly events: EventRecorder;
  readonly clock: Clock;
  readonly defaultRefreshMs: number;
  readonly observer: SyncObserver;
  readonly logger: ReporterLogger;
  /** Whether every path is read less often than asked, because the backend's rate limit cannot keep up. */
  readonly refreshStretched?: () => boolean;
  /**
   * A definition whose status was just written, as the apiserver answered; `basedOn`: the
   * resourceVersion the write started from. The next reconcile may come before the watch brings
   * the write (a Secret's own watch event enqueues it), and must not write the same status again.
   */
  readonly rememberDefinition?: (answered: unknown, basedOn: string) => void;
}

/**
 * How a status write went: written (or nothing to write); failed, to be tried again with backoff
 * (a 5xx, a timeout, a 403 that RBAC may yet fix); refused for good (400, 422: the apiserver
 * would refuse the same status again), so tried again only when the definition or what it reads
 * changes.
 */
export type StatusWrite = 'written' | 'failed' | 'refused';

export class Reporter {
  readonly #deps: ReporterDeps;

  constructor(deps: ReporterDeps) {
    this.#deps = deps;
  }

  /**
   * The Secret is in sync. `rollout` is the RolloutRestart condition of a definition that names
   * restart targets; undefined removes it. `issued`: what the Secret holds of a PKI or dynamic
   * engine (what the status held of one before is removed when absent). Answers how the status
   * write went (the Secret is in sync all the same: its Event, log line and metrics are not lost
   * when it fails).
   */
  async synced(
    definition: SecretDefinition,
    change: Change | undefined,
    rollout?: Omit<ConditionUpdate, 'type'>,
    issued: IssuedStatus = {},
  ): Promise<StatusWrite> {
    const { metadata, spec, status } = definition;
    const previous = findCondition(status.conditions, readyCondition);
    const becameReady = previous?.status !== 'True';
    const now = new Date(this.#deps.clock.now());
    const refresh = formatDuration(spec.refreshIntervalMs ?? this.#deps.defaultRefreshMs);
    // The message names no factor: it stays the same while the stretch moves, so no status write.
    const stretched = this.#deps.refreshStretched?.() ?? false;
    const reason = stretched ? reasons.refreshStretched : reasons.synced;
    const { name, qpsFlag } = backendWords[this.#deps.backend];
    const message = stretched
      ? `Secret ${spec.name} is in sync with ${name}, but ${name} is read less often than every ${refresh}: all paths together need more reads than ${qpsFlag} allows (see the operator log and secrets_manager_vault_refresh_stretch_ratio)`
      : `Secret ${spec.name} is in sync with ${name} (refreshed every ${refresh})`;
    const next: SecretDefinitionStatus = {
      observedGeneration: metadata.generation,
      secretName: spec.name,
      // The sync time moves when the Secret was written or confirmed after a change, not at every
      // poll: a status write per refresh would make a quiet cluster busy.
      lastSyncTime:
        change || becameReady || !status.lastSyncTime
          ? now.toISOString().replace(/\.\d+Z$/, 'Z')
          : status.lastSyncTime,
      conditions: withRollout(
        setCondition(
          status.conditions,
          {
            type: readyCondition,
            status: 'True',
            reason,
            message,
          },
          metadata.generation,
          now,
        ),
        rollout,
        metadata.generation,
        now,
      ),
      // A merge patch keeps what it does not name: null removes what no longer applies.
      ...(issued.pki ? { pki: issued.pki } : status.pki ? { pki: null } : {}),
      ...(issued.dynamic ? { dynamic: issued.dynamic } : status.dynamic ? { dynamic: null } : {}),
    };
    const written = await this.#tryPatchStatus(definition, next);
    const before = findCondition(status.conditions, rolloutRestartCondition);
    if (rollout?.status === 'False' && (before?.status !== 'False' || before.reason !== rollout.reason)) {
      void this.event(definition, 'Warning', rollout.reason, rollout.message);
    }
    this.#deps.observer.synced(metadata.namespace, metadata.name, true, reason);
    if (change) {
      this.#deps.logger.info('secret synced', {
        namespace: metadata.namespace,
        definition: metadata.name,
        change: change.text,
      });
      // A first creation has no Event: the status says it (Ready, lastSyncTime), and at a cold
      // start of 10,000 definitions those Events were a quarter of every request to the
      // apiserver. A change of an existing Secret (a rotation, a recreation) has one. Events are
      // best effort and never hold the worker.
      if (change.kind !== 'create') void this.event(definition, 'Normal', 'Synced', change.text);
    }
    return written;
  }

  /** The sync failed: Ready=False with its reason. Answers how the status write went. */
  async failed(
    definition: Pick<SecretDefinition, 'metadata' | 'status'>,
    failure: Failure,
  ): Promise<StatusWrite> {
    const { metadata, status } = definition;
    const previous = findCondition(status.conditions, readyCondition);
    const now = new Date(this.#deps.clock.now());
    const next: SecretDefinitionStatus = {
      ...status,
      observedGeneration: metadata.generation,
      conditions: setCondition(
        status.conditions,
        { type: readyCondition, status: 'False', reason: failure.reason, message: failure.message },
        metadata.generation,
        now,
      ),
    };
    this.#deps.observer.synced(metadata.namespace, metadata.name, false, failure.reason);
    const entering = previous?.status !== 'False' || previous.reason !== failure.reason;
    if (entering) {
      this.#deps.logger.warn('secret sync failed', {
        namespace: metadata.namespace,
        definition: metadata.name,
        reason: failure.reason,
        detail: failure.message,
        ...(failure.detail ? { backendSaid: failure.detail } : {}),
      });
      const eventReason = failure.reason === reasons.secretNotOwned ? reasons.secretNotOwned : 'SyncFailed';
      void this.event(definition, 'Warning', eventReason, failure.message);
    }
    return this.#tryPatchStatus(definition, next);
  }

  /** Patches the status if it changed; a failure is logged and answered, never thrown. */
  async #tryPatchStatus(
    definition: Pick<SecretDefinition, 'metadata' | 'status'>,
    next: SecretDefinitionStatus,
  ): Promise<StatusWrite> {
    try {
      await this.#patchStatusIfChanged(definition, next);
      return 'written';
    } catch (error) {
      const refused = error instanceof KubeError && (error.status === 400 || error.status === 422);
      this.#deps.logger.warn(
        refused
          ? 'status update refused by the apiserver; tried again when the definition or what it reads changes'
          : 'status update failed; tried again with backoff',
        {
          namespace: definition.metadata.namespace,
          definition: definition.metadata.name,
          error: describeError(error),
        },
      );
      return refused ? 'refused' : 'failed';
    }
  }

  async #patchStatusIfChanged(
    definition: Pick<SecretDefinition, 'metadata' | 'status'>,
    next: SecretDefinitionStatus,
  ): Promise<void> {
    if (JSON.stringify(comparable(definition.status)) === JSON.stringify(comparable(next))) return;
    const { namespace, name, resourceVersion } = definition.metadata;
    const answered = await this.#deps.definitions.patchStatus(namespace, name, next);
    if (answered !== undefined) this.#deps.rememberDefinition?.(answered, resourceVersion);
  }

  async event(
    definition: Pick<SecretDefinition, 'metadata'>,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const { namespace, name, uid } = definition.metadata;
    await this.#deps.events.record({ namespace, name, uid }, type, reason, message);
  }
}

/** The conditions with the RolloutRestart condition set to `rollout`, or without it. */
function withRollout(
  conditions: Condition[],
  rollout: Omit<ConditionUpdate, 'type'> | undefined,
  generation: number,
  now: Date,
): Condition[] {
  if (!rollout) return conditions.filter((c) => c.type !== rolloutRestartCondition);
  return setCondition(conditions, { type: rolloutRestartCondition, ...rollout }, generation, now);
}

/** Status with its conditions in a stable order, for comparison. */
function comparable(status: SecretDefinitionStatus): unknown {
  const conditions = [...(status.conditions ?? [])]
    .sort((a, b) => a.type.localeCompare(b.type))
    .map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: c.lastTransitionTime,
      observedGeneration: c.observedGeneration,
    }));
  return {
    observedGeneration: status.observedGeneration,
    secretName: status.secretName,
    lastSyncTime: status.lastSyncTime,
    conditions,
    // In a fixed key order: the apiserver answers an object's keys sorted.
    pki: status.pki
      ? {
          serialNumber: status.pki.serialNumber,
          notAfter: status.pki.notAfter,
          nextRenewal: status.pki.nextRenewal,
        }
      : null,
    dynamic: status.dynamic
      ? {
          issuedAt: status.dynamic.issuedAt,
          leaseDurationSeconds: status.dynamic.leaseDurationSeconds,
          leaseExpiresAt: status.dynamic.leaseExpiresAt,
          nextRenewal: status.dynamic.nextRenewal,
        }
      : null,
  };
}
