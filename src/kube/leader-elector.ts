// Leader election on a coordination.k8s.io Lease, with client-go's rules: a candidate takes the
// Lease when it is free or its holder has not renewed it within leaseDuration; the leader renews
// every retryPeriod and gives up leadership when it could not renew for renewDeadline. Every
// write carries the resourceVersion read, so two candidates never both win.

import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Clock } from '../clock.ts';
import { toKubeError } from './errors.ts';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
}

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #options: LeaderElectionOptions;
  readonly #stop = new AbortController();
  #leading = false;

  constructor(config: KubeConfig, options: LeaderElectionOptions) {
    this.#api = config.makeApiClient(CoordinationV1Api);
    this.#options = options;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Resolves once this instance leads; rejects if stopped first. */
  async acquire(): Promise<void> {
    const { clock, retryPeriodMs } = this.#options;
    while (!this.#stop.signal.aborted) {
      if (await this.#tryAcquireOrRenew()) {
        this.#leading = true;
        return;
      }
      await clock.sleep(retryPeriodMs, this.#stop.signal);
    }
    throw new Error('leader election stopped before this instance became leader');
  }

  /** Keeps renewing; resolves when leadership is lost (never while renewals succeed). */
  async hold(): Promise<void> {
    const { clock, retryPeriodMs, renewDeadlineMs } = this.#options;
    let lastRenew = clock.now();
    while (!this.#stop.signal.aborted) {
      await clock.sleep(retryPeriodMs, this.#stop.signal);
      if (this.#stop.signal.aborted) break;
      if (await this.#tryAcquireOrRenew()) lastRenew = clock.now();
      else if (clock.now() - lastRenew >= renewDeadlineMs) break;
    }
    this.#leading = false;
  }

  /** Stops electing and, when leading, frees the Lease so another replica takes over at once. */
  async release(): Promise<void> {
    this.#stop.abort();
    if (!this.#leading) return;
    this.#leading = false;
    const { namespace, name, identity } = this.#options;
    try {
      const lease = await this.#api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const rest = { ...lease.spec };
      delete rest.holderIdentity;
      lease.spec = { ...rest, leaseDurationSeconds: 1 };
      await this.#api.replaceNamespacedLease({ name, namespace, body: lease });
    } catch (error) {
      this.#options.onError(toKubeError(error, `releasing Lease ${namespace}/${name}`));
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs, clock } = this.#options;
    // Lease times are MicroTime: the apiserver refuses the millisecond form a plain Date gives.
    const now = new V1MicroTime(clock.now());
    const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    try {
      let lease: V1Lease;
      try {
        lease = await this.#api.readNamespacedLease({ name, namespace });
      } catch (error) {
        if (toKubeError(error, 'reading the Lease').status !== 404) throw error;
        await this.#api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity;
      const renewedAt = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
      const expired = renewedAt + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 <= now.getTime();
      if (holder && holder !== identity && !expired) return false;
      const takingOver = holder !== identity;
      lease.spec = {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: now,
        ...(takingOver ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      };
      await this.#api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (error) {
      const failure = toKubeError(error, `acquiring or renewing Lease ${namespace}/${name}`);
      // 409: another candidate wrote first; that is an answer, not a fault.
      if (failure.status !== 409) this.#options.onError(failure);
      return false;
    }
  }
}
