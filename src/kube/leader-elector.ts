// Leader election on a coordination.k8s.io Lease, with client-go's rules. Every write carries the
// resourceVersion read, so two candidates never both win. The timing rules, all in one place:
//
// - A candidate takes the Lease when it has no holder, or when its record has not changed for the
//   Lease's duration as measured by the candidate's own monotonic clock since it first saw that
//   record. The holder's renewTime comes from another machine's clock and is never compared with
//   ours, so skewed or stepped clocks cannot hand the Lease over while its holder still renews.
// - The leader renews every retryPeriod. Its term ends renewDeadline after the start of its last
//   successful renew, by a timer, so a request that hangs cannot extend it; at once when the Lease
//   shows another holder; or when the elector stops. The term's AbortSignal aborts at that moment.
// - Every Lease request is abandoned after min(renewDeadline / 2, 5s), so one renew (a read and a
//   write) fits within the deadline and a half-open connection costs one attempt, not the term.

import type { V1Lease } from '@kubernetes/client-node';
import type { Clock, Timer } from '../clock.ts';
import { apiName } from './api-name.ts';
import { KubeError, toKubeError } from './errors.ts';
import { abandonOnAbort } from './cancel.ts';
import { withCallSignal, type KubeApi } from './kube-api.ts';

/** A coordination.k8s.io/v1 Lease, as much of it as the elector reads and writes. */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    /** MicroTime: RFC 3339 with six fractional digits; the apiserver refuses milliseconds. */
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The Lease calls the elector makes; each must give up when its `signal` aborts. */
export interface LeaseApi {
  read(namespace: string, name: string, signal: AbortSignal): Promise<Lease>;
  create(namespace: string, lease: Lease, signal: AbortSignal): Promise<Lease>;
  replace(namespace: string, name: string, lease: Lease, signal: AbortSignal): Promise<Lease>;
}

/** A time in the MicroTime form Lease fields need: 2026-11-27T10:00:00.123000Z. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * The Lease API of the cluster `api` talks to. Lease times stay MicroTime strings both ways: the
 * library declares them as dates but passes them through as they are.
 */
export function kubeLeaseApi(api: KubeApi): LeaseApi {
  const typed = (lease: Lease): V1Lease =>
    ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease }) as unknown as V1Lease;
  const untyped = (lease: V1Lease): Lease => lease as unknown as Lease;
  return {
    read: async (namespace, name, signal) =>
      untyped(
        await api.coordination.readNamespacedLease(
          { name: apiName(name), namespace: apiName(namespace) },
          withCallSignal(signal),
        ),
      ),
    create: async (namespace, lease, signal) =>
      untyped(
        await api.coordination.createNamespacedLease(
          { namespace: apiName(namespace), body: typed(lease) },
          withCallSignal(signal),
        ),
      ),
    replace: async (namespace, name, lease, signal) =>
      untyped(
        await api.coordination.replaceNamespacedLease(
          { name: apiName(name), namespace: apiName(namespace), body: typed(lease) },
          withCallSignal(signal),
        ),
      ),
  };
}

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

/** Why this instance does not lead (any more): the reason of an aborted term signal. */
export class LeadershipEnded extends Error {
  readonly reason: 'NotLeading' | 'RenewDeadlineExceeded' | 'LeaseTakenOver' | 'Stopped';

  constructor(reason: LeadershipEnded['reason'], message: string) {
    super(message);
    this.name = 'LeadershipEnded';
    this.reason = reason;
  }
}

type Attempt = 'leading' | 'heldByOther' | 'failed';

/** A Lease record as last seen, and when, by our monotonic clock. */
interface Observed {
  readonly version: string;
  readonly at: number;
}

export class LeaderElector {
  readonly #api: LeaseApi;
  readonly #options: LeaderElectionOptions;
  readonly #requestTimeoutMs: number;
  readonly #stop = new AbortController();
  #term: AbortController;
  #termDeadline: Timer | undefined;
  /** When the current term ends, on the monotonic clock: what `checkDeadline` compares with. */
  #termEndsAt: number | undefined;
  #observed: Observed | undefined;

  constructor(api: LeaseApi, options: LeaderElectionOptions) {
    this.#api = api;
    this.#options = options;
    this.#requestTimeoutMs = Math.min(options.renewDeadlineMs / 2, 5_000);
    this.#term = new AbortController();
    this.#term.abort(new LeadershipEnded('NotLeading', 'this instance has not become leader'));
  }

  get leading(): boolean {
    return !this.#term.signal.aborted;
  }

  /**
   * The current leadership term: aborted, with a LeadershipEnded reason, whenever this instance
   * does not lead. Work that only the leader may do should be cancelled by it.
   */
  get signal(): AbortSignal {
    return this.#term.signal;
  }

  /**
   * Ends the term now if its deadline has passed, without waiting for the deadline's timer. After a
   * freeze (SIGSTOP, a paused VM, a long pause of the process) the event loop runs the I/O callbacks
   * that were waiting before it runs the timers, and one of them may start a write: a write that
   * calls this just before it is sent finds the term ended. The standby cannot hold the Lease before
   * this deadline, since renewDeadline is shorter than the Lease's duration.
   */
  checkDeadline(): void {
    if (this.#termEndsAt === undefined || this.#options.clock.monotonic() < this.#termEndsAt) return;
    this.#renewDeadlineExceeded();
  }

  /** Resolves with the term's signal once this instance leads; rejects if stopped first. */
  async acquire(): Promise<AbortSignal> {
    const { clock, retryPeriodMs } = this.#options;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const started = clock.monotonic();
      if ((await this.#tryAcquireOrRenew(stop)) === 'leading' && !stop.aborted) {
        this.#term = new AbortController();
        this.#extendTerm(started);
        return this.#term.signal;
      }
      if (!stop.aborted) await clock.sleep(retryPeriodMs, stop);
    }
    throw new LeadershipEnded('Stopped', 'leader election stopped before this instance became leader');
  }

  /** Keeps renewing; resolves when the term ends (never while renewals succeed in time). */
  async hold(): Promise<void> {
    const { clock, retryPeriodMs, namespace, name } = this.#options;
    const term = this.#term.signal;
    while (!term.aborted) {
      await clock.sleep(retryPeriodMs, term);
      if (term.aborted) break;
      const started = clock.monotonic();
      const attempt = await this.#tryAcquireOrRenew(term);
      if (term.aborted) break;
      if (attempt === 'leading') this.#extendTerm(started);
      else if (attempt === 'heldByOther') {
        this.#endTerm('LeaseTakenOver', `another candidate holds Lease ${namespace}/${name}`);
      }
    }
  }

  /** Stops electing, ends the term and, when leading, frees the Lease so another takes over at once. */
  async release(): Promise<void> {
    this.#stop.abort();
    if (!this.leading) return;
    this.#endTerm('Stopped', 'leader election stopped');
    const { namespace, name, identity } = this.#options;
    try {
      const lease = await this.#request(`reading Lease ${namespace}/${name}`, (signal) =>
        this.#api.read(namespace, name, signal),
      );
      if (lease.spec?.holderIdentity !== identity) return;
      const rest = { ...lease.spec };
      delete rest.holderIdentity;
      lease.spec = { ...rest, leaseDurationSeconds: 1 };
      await this.#request(`releasing Lease ${namespace}/${name}`, (signal) =>
        this.#api.replace(namespace, name, lease, signal),
      );
    } catch (error) {
      this.#options.onError(toKubeError(error, `releasing Lease ${namespace}/${name}`));
    }
  }

  /** Moves the end of the term to renewDeadline after `renewStarted` (a monotonic reading). */
  #extendTerm(renewStarted: number): void {
    const { clock, renewDeadlineMs } = this.#options;
    this.#termDeadline?.cancel();
    this.#termEndsAt = renewStarted + renewDeadlineMs;
    this.#termDeadline = clock.after(this.#termEndsAt - clock.monotonic(), () =>
      this.#renewDeadlineExceeded(),
    );
  }

  /** Ends the term because it was not renewed in time: by the deadline's timer or `checkDeadline`. */
  #renewDeadlineExceeded(): void {
    const { namespace, name, renewDeadlineMs } = this.#options;
    this.#endTerm(
      'RenewDeadlineExceeded',
      `Lease ${namespace}/${name} was not renewed within ${renewDeadlineMs}ms`,
    );
  }

  #endTerm(reason: LeadershipEnded['reason'], message: string): void {
    this.#termDeadline?.cancel();
    this.#termDeadline = undefined;
    this.#termEndsAt = undefined;
    this.#term.abort(new LeadershipEnded(reason, message));
  }

  /** One call to the Lease API, given up when `scope` aborts or after the request timeout. */
  async #request<T>(
    doing: string,
    send: (signal: AbortSignal) => Promise<T>,
    scope?: AbortSignal,
  ): Promise<T> {
    const timeout = new AbortController();
    const timer = this.#options.clock.after(this.#requestTimeoutMs, () =>
      timeout.abort(
        new KubeError(undefined, 'Timeout', `${doing}: no answer within ${this.#requestTimeoutMs}ms`),
      ),
    );
    const signal = scope ? AbortSignal.any([scope, timeout.signal]) : timeout.signal;
    try {
      return await abandonOnAbort(send(signal), signal);
    } finally {
      timer.cancel();
    }
  }

  async #tryAcquireOrRenew(scope: AbortSignal): Promise<Attempt> {
    const { namespace, name, identity, leaseDurationMs, clock } = this.#options;
    const lease = `Lease ${namespace}/${name}`;
    // Lease times are MicroTime: the apiserver refuses the millisecond form a plain Date gives.
    const now = microTime(clock.now());
    const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    try {
      let current: Lease;
      try {
        current = await this.#request(
          `reading ${lease}`,
          (signal) => this.#api.read(namespace, name, signal),
          scope,
        );
      } catch (error) {
        if (toKubeError(error, `reading ${lease}`).status !== 404) throw error;
        const created = await this.#request(
          `creating ${lease}`,
          (signal) =>
            this.#api.create(
              namespace,
              {
                metadata: { name, namespace },
                spec: {
                  holderIdentity: identity,
                  leaseDurationSeconds,
                  acquireTime: now,
                  renewTime: now,
                  leaseTransitions: 0,
                },
              },
              signal,
            ),
          scope,
        );
        this.#observe(created);
        return 'leading';
      }
      const observed = this.#observe(current);
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity;
      const durationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      const expired = clock.monotonic() - observed.at >= durationMs;
      if (holder && holder !== identity && !expired) return 'heldByOther';
      const takingOver = holder !== identity;
      current.spec = {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: now,
        ...(takingOver ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      };
      const written = await this.#request(
        `${takingOver ? 'acquiring' : 'renewing'} ${lease}`,
        (signal) => this.#api.replace(namespace, name, current, signal),
        scope,
      );
      this.#observe(written);
      return 'leading';
    } catch (error) {
      // Stopping or losing the term cancels the request on purpose; that is no fault to report.
      if (scope.aborted) return 'failed';
      const failure = toKubeError(error, `acquiring or renewing ${lease}`);
      // 409: another candidate wrote first; that is an answer, not a fault.
      if (failure.status !== 409) this.#options.onError(failure);
      return 'failed';
    }
  }

  /**
   * Notes when the Lease record last changed, by our clock. The resourceVersion changes on every
   * write, so it tells a holder that renews from one that has stopped without reading its clock.
   */
  #observe(lease: Lease): Observed {
    const version = lease.metadata?.resourceVersion ?? JSON.stringify(lease.spec ?? {});
    if (this.#observed?.version !== version) {
      this.#observed = { version, at: this.#options.clock.monotonic() };
    }
    return this.#observed;
  }
}
