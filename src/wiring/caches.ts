// What the operator knows of the cluster: a cache of the SecretDefinitions and one of the Secrets
// it manages (per watched namespace, or one for all), the indexes built from them (which
// definition claims which Secret, which Secret a definition owns), and the queue adds their
// changes cause. The reconciler reads only from here; only the informers write here.

import { secretKey, SecretIndex } from '../controller/secret-index.ts';
import { TargetIndex } from '../controller/target-index.ts';
import type { WorkQueue } from '../controller/queue.ts';
import type { Clock, Random } from '../clock.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { Informer } from '../kube/informer.ts';
import { toLiveSecret, type LiveSecret } from '../kube/live-secret.ts';
import { definitionSource, managedSecretSource } from '../kube/sources.ts';
import { trimDefinition } from '../kube/trim-definition.ts';
import { plural } from '../api/types.ts';
import type { Logger } from '../observability/logger.ts';
import { defaultSyncTimeoutMs, notSyncedReason, waitForSync } from './cache-sync.ts';
import type { Runnable } from './manager.ts';
import { watchScope } from './scope.ts';
import { stringOr } from '../text.ts';

type RawDefinition = { readonly key: string; readonly raw: Record<string, unknown> };

export interface CachesOptions {
  readonly kube: KubeApi;
  /** Namespaces watched (empty: all), less the excluded ones. */
  readonly watchNamespaces: readonly string[];
  readonly excludeNamespaces: readonly string[];
  /** The field manager whose Secrets are watched. */
  readonly fieldManager: string;
  readonly queue: WorkQueue;
  /** A definition appeared in or left a namespace (per-namespace logins follow them). */
  readonly definitionAdded: (namespace: string) => void;
  readonly definitionRemoved: (namespace: string) => void;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** How long the first lists may take before the operator gives up and exits (controller-runtime's 2 min). */
  readonly syncTimeoutMs?: number;
}

function metaOf(raw: Record<string, unknown>): Record<string, unknown> {
  return (raw['metadata'] ?? {}) as Record<string, unknown>;
}

function targetOf(d: RawDefinition): string | undefined {
  const name = (d.raw['spec'] as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? secretKey(stringOr(metaOf(d.raw)['namespace']), name) : undefined;
}

/** What, in a definition update, can change the outcome of a reconcile (status does not). */
function relevant(d: RawDefinition): string {
  const meta = metaOf(d.raw);
  return JSON.stringify([
    meta['generation'],
    meta['labels'],
    meta['annotations'],
    meta['deletionTimestamp'],
    meta['finalizers'],
    meta['uid'],
  ]);
}

export class Caches {
  readonly targets = new TargetIndex();
  readonly secretIndex = new SecretIndex();
  readonly #definitions: Informer<RawDefinition>[];
  readonly #secrets: Informer<LiveSecret>[];
  readonly #perNamespace: boolean;
  readonly #namespaces: (string | undefined)[];
  readonly #queue: WorkQueue;
  readonly #options: CachesOptions;
  readonly #toDefinition: (object: unknown) => RawDefinition | undefined;
  /** Events reach the queue only once this instance leads (startEnqueueing): a standby's queue stays empty. */
  #enqueueing = false;

  constructor(options: CachesOptions) {
    const { kube, clock, random, logger } = options;
    this.#options = options;
    this.#queue = options.queue;
    const queue = {
      add: (key: string): void => {
        if (this.#enqueueing) this.#queue.add(key);
      },
    };
    const { namespaces, inScope } = watchScope(options.watchNamespaces, options.excludeNamespaces);
    this.#perNamespace = options.watchNamespaces.length > 0;
    this.#namespaces = [...namespaces];
    const { targets } = this;
    const toDefinition = (object: unknown): RawDefinition | undefined => {
      const meta = metaOf((object ?? {}) as Record<string, unknown>);
      if (
        typeof meta['name'] !== 'string' ||
        typeof meta['namespace'] !== 'string' ||
        !inScope(meta['namespace'])
      )
        return undefined;
      // Only what reconcile reads is cached: no managedFields, no last-applied copy.
      return {
        key: `${meta['namespace']}/${meta['name']}`,
        raw: trimDefinition(object as Record<string, unknown>),
      };
    };
    this.#toDefinition = toDefinition;
    this.#definitions = this.#namespaces.map(
      (namespace) =>
        new Informer<RawDefinition>({
          source: definitionSource(kube, namespace),
          convert: toDefinition,
          keyOf: (d) => d.key,
          versionOf: (d) => stringOr(metaOf(d.raw)['resourceVersion']),
          uidOf: (d) => stringOr(metaOf(d.raw)['uid']),
          handlers: {
            upserted: (d, previous) => {
              if (!previous) options.definitionAdded(stringOr(metaOf(d.raw)['namespace']));
              targets.set(d.key, targetOf(d), stringOr(metaOf(d.raw)['creationTimestamp']));
              if (!previous || relevant(previous) !== relevant(d)) queue.add(d.key);
              const previousTarget = previous && targetOf(previous);
              if (previousTarget && previousTarget !== targetOf(d))
                targets.claimants(previousTarget).forEach((k) => queue.add(k));
            },
            deleted: (d) => {
              options.definitionRemoved(stringOr(metaOf(d.raw)['namespace']));
              const target = targetOf(d);
              targets.remove(d.key);
              queue.add(d.key);
              // A definition that lost a conflict to this one may now take the Secret.
              if (target) targets.claimants(target).forEach((k) => queue.add(k));
            },
          },
          clock,
          random,
          logger,
        }),
    );
    const enqueueOwner = (secret: LiveSecret): void => {
      const owner = this.secretIndex.ownerOf(secretKey(secret.namespace, secret.name));
      if (owner) queue.add(owner);
    };
    this.#secrets = this.#namespaces.map(
      (namespace) =>
        new Informer<LiveSecret>({
          source: managedSecretSource(kube, namespace),
          convert: (object) => {
            const secret = toLiveSecret(object, options.fieldManager);
            return secret && inScope(secret.namespace) ? secret : undefined;
          },
          keyOf: (s) => secretKey(s.namespace, s.name),
          versionOf: (s) => s.resourceVersion,
          uidOf: (s) => s.uid,
          handlers: {
            // Drift repair: every change to a managed Secret brings its definition back to the
            // queue, which writes only if the change touched what it manages.
            upserted: (secret) => {
              this.secretIndex.upserted(secret);
              enqueueOwner(secret);
            },
            deleted: (secret) => {
              enqueueOwner(secret);
              this.secretIndex.deleted(secret);
            },
          },
          clock,
          random,
          logger,
        }),
    );
  }

  get synced(): boolean {
    return this.#all().every((i) => i.synced);
  }

  /** Why the caches are not synced, naming each cache not listed yet and what its list was told; undefined once synced. */
  get notSynced(): string | undefined {
    return notSyncedReason('caches', this.#all());
  }

  /** How many definitions the caches hold. */
  get definitionCount(): number {
    return this.#definitions.reduce((n, i) => n + i.size, 0);
  }

  /** The informers as a runnable: its start waits until every cache has synced. */
  runnable(): Runnable {
    const { clock, logger } = this.#options;
    return {
      name: 'caches',
      start: async (signal) => {
        for (const informer of this.#all()) informer.start();
        const timeoutMs = this.#options.syncTimeoutMs ?? defaultSyncTimeoutMs;
        await waitForSync('caches', this.#all(), clock, timeoutMs, signal);
        if (!signal.aborted)
          logger.info('caches synced', { definitions: this.definitionCount, resource: plural });
      },
      stop: async () => void (await Promise.all(this.#all().map((i) => i.stop()))),
    };
  }

  /**
   * From now on, cache events reach the queue, and every definition is added once: as
   * controller-runtime's controllers, whose event handlers start with leadership, so that a
   * standby's queue metrics say nothing is waiting, and a new leader's queue times start when it leads.
   */
  startEnqueueing(): void {
    this.#enqueueing = true;
    this.enqueueAll();
  }

  /** Every known definition back to the queue (the access policy changed, say); none before startEnqueueing. */
  enqueueAll(): void {
    if (!this.#enqueueing) return;
    for (const informer of this.#definitions) for (const d of informer.values()) this.#queue.add(d.key);
  }

  /** The cached definition `namespace/name`, as the apiserver sent it (trimmed). */
  definition(key: string): unknown {
    for (const informer of this.#definitions) {
      const found = informer.get(key);
      if (found) return found.raw;
    }
    return undefined;
  }

  liveSecret(key: string): LiveSecret | undefined {
    return this.#secretsOf(key.split('/')[0] ?? '')?.get(key);
  }

  /** A Secret the operator just wrote, known before its watch event arrives. */
  rememberSecret(secret: LiveSecret, basedOn: string | undefined): void {
    // A Secret the watch has already deleted again is not indexed as its definition's either.
    const taken = this.#secretsOf(secret.namespace)?.remember(secret, basedOn) ?? true;
    if (taken) this.secretIndex.upserted(secret);
  }

  /**
   * A definition whose status the operator just wrote, as the apiserver answered, known before its
   * watch event arrives (so the next reconcile compares with what was written, not the status
   * before it). Kept only when nothing but the status changed: a change of anything the handlers
   * act on (the spec's generation, labels, deletion) must come through the watch, which enqueues.
   */
  rememberDefinition(answered: unknown, basedOn: string): void {
    const definition = this.#toDefinition(answered);
    if (!definition) return;
    const informer = this.#definitionsOf(definition.key.split('/')[0] ?? '');
    const current = informer?.get(definition.key);
    if (!informer || !current || relevant(current) !== relevant(definition)) return;
    informer.remember(definition, basedOn);
  }

  forgetSecret(key: string): void {
    this.#secretsOf(key.split('/')[0] ?? '')?.forget(key);
  }

  #definitionsOf(namespace: string): Informer<RawDefinition> | undefined {
    return this.#perNamespace ? this.#definitions[this.#namespaces.indexOf(namespace)] : this.#definitions[0];
  }

  #secretsOf(namespace: string): Informer<LiveSecret> | undefined {
    return this.#perNamespace ? this.#secrets[this.#namespaces.indexOf(namespace)] : this.#secrets[0];
  }

  #all(): Informer<unknown>[] {
    return [...this.#definitions, ...this.#secrets] as Informer<unknown>[];
  }
}
