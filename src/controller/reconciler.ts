// The reconciler: one entry point per SecretDefinition key, idempotent, with no memory of earlier
// calls beyond what the caches say. It gathers inputs (definition, Vault data, live Secret), asks
// the pure core what the Secret should be, writes only what differs, and reports through status,
// Events and metrics (reporter.ts). It answers what to do next: nothing, retry with backoff, or
// look again later.

import { reasons, type ConditionUpdate, type Reason } from '../api/conditions.ts';
import type { Restarter } from './restarter.ts';
import type { TemplateRenderer } from './template.ts';
import { rolloutCondition } from './restarter.ts';
import { dataIdAnnotation, legacyFinalizer, type SecretDefinition } from '../api/types.ts';
import { parseSecretDefinition } from '../api/validate.ts';
import type { Clock } from '../clock.ts';
import type { DefinitionWriter } from '../kube/definition-writer.ts';
import { KubeError } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { LiveSecret } from '../kube/live-secret.ts';
import type { SecretApi } from '../kube/secret-api.ts';
import type { ReadErrorName } from '../providers/provider.ts';
import { desiredSecret, type DesiredSecret } from './desired.ts';
import type { Issuance, Prepared } from './issuance.ts';
import { ownershipOf, type Ownership } from './ownership.ts';
import { writeSecret, type WriteOutcome } from './secret-writer.ts';
import { Reporter, type Failure } from './reporter.ts';
import { secretKey, type SecretIndex } from './secret-index.ts';
import { issuingRefusal, type ReadKey, readKeys, readSources, type SourceReadDeps } from './source-reads.ts';
import type { TargetIndex } from './target-index.ts';

export type ReconcileResult =
  /** Nothing more to do until something changes; `failure` names why the sync failed, if it did. */
  | { readonly kind: 'done'; readonly failure?: string }
  | { readonly kind: 'retry'; readonly reason: string }
  /** Look again later: nothing announces the end of this state (a foreign Secret's deletion, say). */
  | { readonly kind: 'requeueAfter'; readonly ms: number; readonly failure?: string };

export interface ReconcileObserver {
  /** The outcome of one reconcile of a valid or invalid definition. */
  synced(namespace: string, name: string, ok: boolean, reason: Reason): void;
  /** A definition is gone: its per-definition series should go too. */
  forgotten(namespace: string, name: string): void;
  secretWritten(operation: 'create' | 'update' | 'delete'): void;
  /**
   * A direct read of the definition's Secret (`name`: the Secret's) found none, or failed: the
   * original's secret_read_errors count.
   */
  secretReadFailed(namespace: string, definition: string, secretName: string): void;
  /**
   * What a valid definition reads now (each path with a key, "" for dataFrom) and the Secret it
   * writes, at each sync: read errors counted for what it no longer reads can be let go.
   */
  reads(namespace: string, name: string, secretName: string, reads: readonly ReadKey[]): void;
  /**
   * A Vault read for a key of a definition failed (`key` is "" for dataFrom): the original's
   * read_secret_errors count, with its error names.
   */
  readFailed(namespace: string, definition: string, path: string, key: string, error: ReadErrorName): void;
}

export interface ReconcilerLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export type { PathAccess } from './source-reads.ts';

export interface ReconcilerDeps extends SourceReadDeps {
  readonly definition: (key: string) => unknown;
  readonly liveSecret: (key: string) => LiveSecret | undefined;
  /** A Secret the operator just wrote; `basedOn`: the resourceVersion the write started from. */
  readonly rememberSecret: (secret: LiveSecret, basedOn: string | undefined) => void;
  readonly forgetSecret: (key: string) => void;
  readonly secretIndex: SecretIndex;
  readonly targetIndex: TargetIndex;
  readonly secrets: SecretApi;
  readonly definitions: DefinitionWriter;
  /** A definition whose status the reporter just wrote, as the apiserver answered (see ReporterDeps). */
  readonly rememberDefinition?: (answered: unknown, basedOn: string) => void;
  readonly events: EventRecorder;
  readonly clock: Clock;
  /** Whether refreshes are stretched beyond the intervals asked for (the Ready reason says so). */
  readonly refreshStretched?: () => boolean;
  /** Rollout restarts after a sync; absent without --rollout-restart. */
  readonly restarts?: Pick<Restarter, 'secretInSync'>;
  /** Renders spec.template: on a thread of its own in the operator. */
  readonly templates: TemplateRenderer;
  /** What PKI and dynamic definitions issued, held and renewed (issuance.ts). */
  readonly issuance: Pick<Issuance, 'prepare' | 'committed' | 'release' | 'forget' | 'nextAt'>;
  readonly observer: ReconcileObserver;
  readonly logger: ReconcilerLogger;
}

/** The longest wait for a certificate's or lease's next step: a clock stepped meanwhile is seen. */
const maxIssuedWaitMs = 12 * 60 * 60 * 1000;

/** A record's entries in key order, to compare two records. */
function sorted(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #reporter: Reporter;
  /**
   * Definition key to the Secret (namespace/name) it found, at a create, to be there though the
   * cache does not hold it: read before the next write. One entry per definition at most, gone
   * with the definition.
   */
  readonly #taken = new Map<string, string>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#reporter = new Reporter(deps);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { sources, observer } = this.#deps;
    const raw = this.#deps.definition(key);
    const [namespace = '', name = ''] = key.split('/');
    if (raw === undefined) {
      this.#taken.delete(key);
      sources(namespace).untrack(key);
      observer.forgotten(namespace, name);
      await this.#deps.issuance.forget(key);
      return { kind: 'done' };
    }
    const parsed = parseSecretDefinition(raw, { backend: this.#deps.backend });
    if (!parsed.valid) {
      sources(namespace).untrack(key);
      const message = `invalid spec: ${parsed.problems.join('; ')}`;
      const status = await this.#reporter.failed(
        { metadata: parsed.metadata, status: parsed.status },
        { reason: reasons.invalidSpec, message, retry: 'none' },
      );
      // A status that could not be written is tried again: the user must see why.
      if (status === 'failed') return { kind: 'retry', reason: reasons.invalidSpec };
      return { kind: 'done', failure: reasons.invalidSpec };
    }
    const definition = parsed.definition;
    if (definition.metadata.deletionTimestamp) return this.#finalize(key, definition);

    const failure = await this.#sync(key, definition);
    // In sync, but the status is not written yet: tried again with the key's backoff.
    if (failure === 'statusNotWritten') return { kind: 'retry', reason: reasons.kubernetesError };
    // A certificate or lease: looked at again when it is due (a long wait is cut into pieces).
    if (failure && 'nextAt' in failure) return { kind: 'requeueAfter', ms: this.#waitMs(failure.nextAt) };
    if (failure) {
      const status = await this.#reporter.failed(definition, failure);
      // Nothing else would bring the definition back while its status still says what it was.
      if (status === 'failed' && failure.retry === 'none') return { kind: 'retry', reason: failure.reason };
      // A failed sync does not stop the certificate's or lease's own clock.
      const issuedDue = this.#deps.issuance.nextAt(key, definition);
      const untilIssued = issuedDue === undefined ? Infinity : this.#waitMs(issuedDue);
      switch (failure.retry) {
        case 'backoff':
          return { kind: 'retry', reason: failure.reason };
        case 'recheck':
          return {
            kind: 'requeueAfter',
            ms: Math.min(definition.spec.refreshIntervalMs ?? this.#deps.defaultRefreshMs, untilIssued),
            failure: failure.reason,
          };
        case 'none':
          return untilIssued === Infinity
            ? { kind: 'done', failure: failure.reason }
            : { kind: 'requeueAfter', ms: untilIssued, failure: failure.reason };
      }
    }
    return { kind: 'done' };
  }

  /** How long to wait for a certificate's or lease's next step at `at` (epoch ms). */
  #waitMs(at: number): number {
    return Math.min(Math.max(at - this.#deps.clock.now(), 1_000), maxIssuedWaitMs);
  }

  /**
   * Brings the Secret in line; answers a failure, undefined when the Secret is in sync and so
   * reported, or statusNotWritten when it is in sync but its status could not be written yet (a
   * status the apiserver refuses for good is not tried again until something changes). In sync,
   * a PKI or dynamic definition answers when its certificate or lease is due next (epoch ms).
   */
  async #sync(
    key: string,
    definition: SecretDefinition,
  ): Promise<Failure | 'statusNotWritten' | { readonly nextAt: number } | undefined> {
    const { spec, metadata } = definition;
    this.#deps.observer.reads(metadata.namespace, metadata.name, spec.name, readKeys(definition));
    const target = secretKey(metadata.namespace, spec.name);
    let live: LiveSecret | undefined;
    try {
      live = await this.#target(definition);
    } catch (error) {
      if (error instanceof KubeError) {
        this.#deps.observer.secretReadFailed(metadata.namespace, metadata.name, spec.name);
        return { reason: reasons.kubernetesError, message: error.message, retry: 'backoff' };
      }
      throw error;
    }
    let ownership = ownershipOf(live, definition);
    const refusal = this.#refusal(key, definition, ownership);
    if (refusal) return refusal;

    const refusedIssue = issuingRefusal(this.#deps, definition);
    if (refusedIssue) return refusedIssue;
    // Before the KV reads: a lease is renewed even while a KV path fails.
    const prepared = await this.#prepareIssued(key, definition, live);
    if (prepared && !prepared.ok) return prepared.failure;
    const read = await readSources(this.#deps, key, definition);
    if ('reason' in read) return read;

    const desired = await desiredSecret(
      definition,
      read.fetched,
      this.#deps.backend,
      this.#deps.templates,
      prepared,
    );
    if (!desired.ok) {
      if (desired.missing) {
        const { namespace, name } = metadata;
        this.#deps.observer.readFailed(
          namespace,
          name,
          desired.missing.path,
          desired.missing.key,
          'BackendSecretNotFoundError',
        );
      }
      return { reason: desired.reason, message: desired.message, retry: 'none' };
    }

    let written: WriteOutcome;
    try {
      written = await this.#write(definition, desired.secret, live, ownership);
      if (written.kind === 'taken') {
        // A Secret of that name is there, unknown to the cache: read, judged, and written only if ours.
        this.#taken.set(key, target);
        live = await this.#target(definition);
        ownership = ownershipOf(live, definition);
        const refused = this.#refusal(key, definition, ownership);
        if (refused) return refused;
        written = await this.#write(definition, desired.secret, live, ownership);
        if (written.kind === 'taken')
          return {
            reason: reasons.kubernetesError,
            message: `Secret ${spec.name} was created and deleted again while this operator wrote it; it is tried again`,
            retry: 'backoff',
          };
      }
      await this.#removeRenamed(key, definition);
    } catch (error) {
      if (error instanceof KubeError)
        return { reason: reasons.kubernetesError, message: error.message, retry: 'backoff' };
      throw error;
    }
    if (prepared) {
      this.#deps.issuance.committed(key, definition);
      if (prepared.issued) void this.#reporter.event(definition, 'Normal', 'Issued', prepared.issued);
    } else {
      // Written without what it issued before: that is retired now, not before the write.
      this.#deps.issuance.release(key);
    }
    const statusWrite = await this.#reporter.synced(
      definition,
      written.changed,
      this.#rollout(definition, live, written.secret),
      prepared?.status,
    );
    if (statusWrite === 'failed') return 'statusNotWritten';
    return prepared ? { nextAt: prepared.nextAt } : undefined;
  }

  /** What a PKI or dynamic definition's Secret holds of its engine; undefined for one without. */
  async #prepareIssued(
    key: string,
    definition: SecretDefinition,
    live: LiveSecret | undefined,
  ): Promise<Prepared | undefined> {
    const { issuance, sources } = this.#deps;
    if (!definition.spec.pki && !definition.spec.dynamic) return undefined;
    try {
      return await issuance.prepare(key, definition, sources(definition.metadata.namespace), live);
    } catch (error) {
      if (!(error instanceof KubeError)) throw error;
      return {
        ok: false,
        failure: { reason: reasons.kubernetesError, message: error.message, retry: 'backoff' },
      };
    }
  }

  /**
   * The definition's Secret as far as the operator knows it: the cache's (which holds only Secrets
   * labelled as ours), or a read when a Secret of that name was found there that the cache does
   * not hold. Otherwise the create finds such a Secret: it refuses to take it over.
   */
  async #target(definition: SecretDefinition): Promise<LiveSecret | undefined> {
    const { namespace, name } = definition.metadata;
    const target = secretKey(namespace, definition.spec.name);
    const cached = this.#deps.liveSecret(target);
    if (cached) return cached;
    const definitionKey = secretKey(namespace, name);
    const live =
      this.#taken.get(definitionKey) === target
        ? await this.#deps.secrets.read(namespace, definition.spec.name)
        : undefined;
    if (!live || ownershipOf(live, definition).kind === 'ours') this.#taken.delete(definitionKey);
    // The original counts a target Secret that is not there yet as a read error.
    if (!live) this.#deps.observer.secretReadFailed(namespace, name, definition.spec.name);
    return live;
  }

  /** Why the definition may not write its Secret: another definition's, or not the operator's at all. */
  #refusal(key: string, definition: SecretDefinition, ownership: Ownership): Failure | undefined {
    const { spec, metadata } = definition;
    const winner = this.#deps.targetIndex.claimants(secretKey(metadata.namespace, spec.name))[0];
    if (
      ownership.kind === 'conflict' ||
      (ownership.kind === 'absent' && winner !== undefined && winner !== key)
    ) {
      const other = ownership.kind === 'conflict' ? ownership.otherDefinition : (winner ?? '').split('/')[1];
      this.#deps.sources(metadata.namespace).untrack(key);
      return {
        reason: reasons.conflict,
        message: `Secret ${spec.name} is managed by SecretDefinition ${other ?? ''}; give this definition another spec.name`,
        retry: 'recheck',
      };
    }
    if (ownership.kind === 'notOwned') {
      this.#deps.sources(metadata.namespace).untrack(key);
      return {
        reason: reasons.secretNotOwned,
        message: `Secret ${spec.name} exists and ${ownership.detail}; it is left untouched: delete it or choose another spec.name`,
        retry: 'recheck',
      };
    }
    return undefined;
  }

  #write(
    definition: SecretDefinition,
    desired: DesiredSecret,
    live: LiveSecret | undefined,
    ownership: Ownership,
  ): Promise<WriteOutcome> {
    const { secrets, rememberSecret, forgetSecret, observer } = this.#deps;
    const deps = {
      secrets,
      rememberSecret,
      forgetSecret,
      dataIds: this.#deps.restarts !== undefined,
      written: (operation: 'create' | 'update' | 'delete') => observer.secretWritten(operation),
    };
    return writeSecret(deps, definition, desired, live, ownership.kind === 'ours' && ownership.adopting);
  }

  /**
   * The RolloutRestart condition after a sync, restarting what must restart: the definition's
   * targets and the auto-reload workloads that read its Secret. A Secret's data changed when it
   * held other data before; a new Secret restarts nothing (its pods were waiting for it).
   */
  #rollout(
    definition: SecretDefinition,
    before: LiveSecret | undefined,
    after: LiveSecret | undefined,
  ): Omit<ConditionUpdate, 'type'> | undefined {
    const { metadata, spec } = definition;
    const targets = spec.rolloutRestartTargets;
    const restarts = this.#deps.restarts;
    if (!restarts) return rolloutCondition(targets, 'disabled', metadata.namespace, spec.name);
    if (!after) return undefined;
    // No id yet (restarts just turned on, or a Secret adopted from the original): the targets are
    // still checked; restarts start with the first change of the data, which gives it one.
    const dataId = after.annotations[dataIdAnnotation];
    const dataChanged =
      before !== undefined &&
      JSON.stringify(sorted(before.dataHashes)) !== JSON.stringify(sorted(after.dataHashes));
    const problems = restarts.secretInSync(
      { namespace: metadata.namespace, name: metadata.name, uid: metadata.uid },
      targets,
      { name: after.name, dataId },
      dataChanged,
    );
    return rolloutCondition(targets, problems, metadata.namespace, spec.name);
  }

  /** After a rename of spec.name, the Secret under the old name goes (deletionPolicy Delete). */
  async #removeRenamed(key: string, definition: SecretDefinition): Promise<void> {
    if (definition.spec.deletionPolicy !== 'Delete') return;
    for (const owned of this.#deps.secretIndex.ownedBy(key)) {
      const secret = this.#deps.liveSecret(owned);
      if (!secret || secret.name === definition.spec.name) continue;
      if (ownershipOf(secret, definition).kind !== 'ours') continue;
      await this.#deps.secrets.delete(secret.namespace, secret.name, secret.uid);
      this.#deps.forgetSecret(owned);
      this.#deps.observer.secretWritten('delete');
      await this.#reporter.event(
        definition,
        'Normal',
        'Deleted',
        `deleted Secret ${secret.name}, which spec.name no longer names`,
      );
    }
  }

  /** A definition being deleted: only the original operator's finalizer needs us. */
  async #finalize(key: string, definition: SecretDefinition): Promise<ReconcileResult> {
    const { metadata, spec } = definition;
    this.#deps.sources(metadata.namespace).untrack(key);
    await this.#deps.issuance.forget(key);
    if (!metadata.finalizers.includes(legacyFinalizer)) return { kind: 'done' };
    try {
      const live = this.#deps.liveSecret(secretKey(metadata.namespace, spec.name));
      if (spec.deletionPolicy === 'Delete' && live && ownershipOf(live, definition).kind === 'ours') {
        await this.#deps.secrets.delete(live.namespace, live.name, live.uid);
        this.#deps.observer.secretWritten('delete');
        await this.#reporter.event(
          definition,
          'Normal',
          'Deleted',
          `deleted Secret ${live.name} with its SecretDefinition`,
        );
      }
      const rest = metadata.finalizers.filter((f) => f !== legacyFinalizer);
      await this.#deps.definitions.setFinalizers(
        metadata.namespace,
        metadata.name,
        rest,
        metadata.resourceVersion,
      );
    } catch (error) {
      if (error instanceof KubeError) return { kind: 'retry', reason: reasons.kubernetesError };
      throw error;
    }
    return { kind: 'done' };
  }
}
