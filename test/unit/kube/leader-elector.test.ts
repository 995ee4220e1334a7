import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeError } from '../../../src/kube/errors.ts';
import {
  LeaderElector,
  LeadershipEnded,
  kubeLeaseApi,
  microTime,
  type Lease,
  type LeaseApi,
} from '../../../src/kube/leader-elector.ts';
import { FakeClock, flush } from '../../support/fake-clock.ts';
import { silentApiserver } from '../../support/silent-apiserver.ts';

const leaseDurationMs = 15_000;
const renewDeadlineMs = 10_000;
const retryPeriodMs = 2_000;
/** min(renewDeadline / 2, 5s) */
const requestTimeoutMs = 5_000;

/** One Lease, kept like the apiserver keeps it: every write needs the current resourceVersion. */
class FakeLeases implements LeaseApi {
  stored: Lease | undefined;
  /** When set, requests never answer and ignore their signal, as on a half-open connection. */
  hanging = false;
  /** The signal of every request, in order. */
  readonly signals: AbortSignal[] = [];
  #version = 0;

  async read(_namespace: string, _name: string, signal: AbortSignal): Promise<Lease> {
    this.#arrive(signal);
    if (this.hanging) return new Promise(() => undefined);
    if (!this.stored) throw new KubeError(404, 'NotFound', 'leases "lease" not found');
    return structuredClone(this.stored);
  }

  async create(_namespace: string, lease: Lease, signal: AbortSignal): Promise<Lease> {
    this.#arrive(signal);
    if (this.hanging) return new Promise(() => undefined);
    if (this.stored) throw new KubeError(409, 'AlreadyExists', 'leases "lease" already exists');
    return this.#store(lease);
  }

  async replace(_namespace: string, _name: string, lease: Lease, signal: AbortSignal): Promise<Lease> {
    this.#arrive(signal);
    if (this.hanging) return new Promise(() => undefined);
    if (lease.metadata?.resourceVersion !== this.stored?.metadata?.resourceVersion) {
      throw new KubeError(409, 'Conflict', 'the object has been modified');
    }
    return this.#store(lease);
  }

  /** Another replica's renew, stamped with that replica's (possibly skewed) clock. */
  renewAs(holder: string, renewTime: Date): void {
    this.#store({
      metadata: { name: 'lease', namespace: 'ns' },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: leaseDurationMs / 1000,
        renewTime: microTime(renewTime.getTime()),
      },
    });
  }

  get holder(): string | undefined {
    return this.stored?.spec?.holderIdentity;
  }

  #arrive(signal: AbortSignal): void {
    this.signals.push(signal);
  }

  #store(lease: Lease): Lease {
    this.#version += 1;
    this.stored = {
      ...structuredClone(lease),
      metadata: { ...lease.metadata, resourceVersion: String(this.#version) },
    };
    return structuredClone(this.stored);
  }
}

function setup(leases = new FakeLeases(), clock = new FakeClock(), identity = 'me') {
  const errors: unknown[] = [];
  const elector = new LeaderElector(leases, {
    namespace: 'ns',
    name: 'lease',
    identity,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    clock,
    onError: (error) => errors.push(error),
  });
  return { clock, leases, errors, elector };
}

/** Tracks a promise so a test can assert whether it has settled yet. */
function track(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  void promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

function reasonOf(signal: AbortSignal): string | undefined {
  return signal.reason instanceof LeadershipEnded ? signal.reason.reason : undefined;
}

test('a leader whose renew hangs loses leadership renewDeadline after its last successful renew', async () => {
  const { clock, leases, elector } = setup();
  await elector.acquire();
  const holding = track(elector.hold());
  await clock.advance(retryPeriodMs); // a renew that succeeds: the term now ends at 12s at the latest
  assert.equal(leases.stored?.metadata?.resourceVersion, '2');

  leases.hanging = true;
  await clock.advance(renewDeadlineMs - 1); // 11.999s
  assert.equal(elector.leading, true);
  assert.equal(holding.settled, false);

  await clock.advance(1); // 12s
  assert.equal(elector.leading, false);
  assert.equal(holding.settled, true);
  assert.equal(reasonOf(elector.signal), 'RenewDeadlineExceeded');
});

test('a leader woken from a freeze past its deadline finds its term ended at its next check, before the timer runs', async () => {
  // After SIGSTOP the event loop runs waiting I/O callbacks before the deadline's timer; a write
  // one of them starts checks the deadline first.
  const { clock, elector } = setup();
  const term = await elector.acquire();
  clock.freeze(renewDeadlineMs - 1);
  elector.checkDeadline();
  assert.equal(term.aborted, false, 'before the deadline the term goes on');
  clock.freeze(1);
  assert.equal(term.aborted, false, 'no timer has run');
  elector.checkDeadline();
  assert.equal(term.aborted, true);
  assert.equal(reasonOf(term), 'RenewDeadlineExceeded');
});

test('a follower does not take over while the Lease record keeps changing, however old its renewTime', async () => {
  const { clock, leases, elector } = setup();
  // The holder's clock is an hour behind ours: by wall clock its Lease looks long expired.
  const skewed = () => new Date(clock.now() - 3_600_000);
  leases.renewAs('other', skewed());
  const acquiring = track(elector.acquire()); // polls at 0s, 2s, 4s, ...
  for (let second = 0; second < 60; second += 2) {
    await clock.advance(1_000);
    leases.renewAs('other', skewed());
    await clock.advance(1_000);
  }
  assert.equal(elector.leading, false);
  assert.equal(acquiring.settled, false);
  assert.equal(leases.holder, 'other');

  // The holder stops renewing; this follower saw its last renew at 60s by its own clock.
  await clock.advance(14_000);
  assert.equal(elector.leading, false, 'not yet: 14s without change is within the lease duration');
  await clock.advance(2_000);
  assert.equal(elector.leading, true, 'the first poll 15s or more after the last change takes over');
  assert.equal(leases.holder, 'me');
  assert.equal(leases.stored?.spec?.leaseTransitions, 1);
});

test('a follower whose own wall clock jumps ahead does not take over a Lease that is renewed', async () => {
  const { clock, leases, elector } = setup();
  leases.renewAs('other', new Date(clock.now()));
  const acquiring = track(elector.acquire());
  await clock.advance(1_000);
  clock.stepWallClock(3_600_000);
  for (let second = 1; second < 30; second += 2) {
    leases.renewAs('other', new Date(clock.now() - 3_600_000));
    await clock.advance(2_000);
  }
  assert.equal(acquiring.settled, false, 'never became leader');
  assert.equal(leases.holder, 'other');
});

test('a Lease request is aborted at its timeout, reported, and counted as a failed attempt', async () => {
  const { clock, leases, errors, elector } = setup();
  leases.hanging = true;
  const acquiring = track(elector.acquire());
  await flush();
  const [first] = leases.signals;
  assert.ok(first);

  await clock.advance(requestTimeoutMs - 1);
  assert.equal(first.aborted, false);
  await clock.advance(1);
  assert.equal(first.aborted, true);
  assert.ok(first.reason instanceof KubeError);
  assert.equal(first.reason.reason, 'Timeout');
  assert.equal(errors.length, 1);
  assert.equal(acquiring.settled, false);

  leases.hanging = false;
  await clock.advance(retryPeriodMs - 1);
  assert.equal(leases.signals.length, 1, 'no new attempt before one retry period has passed');
  await clock.advance(1);
  assert.equal(elector.leading, true);
});

test('the term signal is live while leading and aborts the moment another candidate holds the Lease', async () => {
  const { clock, leases, elector } = setup();
  assert.equal(elector.signal.aborted, true, 'no term before leading');
  const signal = await elector.acquire();
  assert.equal(signal, elector.signal);
  const holding = track(elector.hold());
  await clock.advance(retryPeriodMs);
  assert.equal(signal.aborted, false);

  leases.renewAs('other', new Date(clock.now())); // taken over while, say, this replica was paused
  await clock.advance(retryPeriodMs);
  assert.equal(signal.aborted, true);
  assert.equal(reasonOf(signal), 'LeaseTakenOver');
  assert.equal(holding.settled, true);
  assert.equal(elector.leading, false);
});

test('release ends the term and frees the Lease so another candidate takes it at once', async () => {
  const { leases, errors, elector } = setup();
  const signal = await elector.acquire();
  await elector.release();
  assert.equal(reasonOf(signal), 'Stopped');
  assert.equal(leases.holder, undefined);
  assert.equal(leases.stored?.spec?.leaseDurationSeconds, 1);
  assert.deepEqual(errors, []);

  const next = setup(leases, new FakeClock(), 'next');
  await next.elector.acquire();
  assert.equal(leases.holder, 'next');
});

test('two candidates that start together never both lead', async () => {
  const leases = new FakeLeases();
  const clock = new FakeClock();
  const a = setup(leases, clock, 'a');
  const b = setup(leases, clock, 'b');
  void a.elector.acquire();
  void b.elector.acquire();
  await clock.advance(3 * retryPeriodMs);
  assert.deepEqual([a.elector.leading, b.elector.leading].filter(Boolean), [true]);
  assert.equal(leases.holder, a.elector.leading ? 'a' : 'b');
});

test('the Kubernetes Lease API gives up a request on the wire when its signal aborts', async (t) => {
  const cancel = new AbortController();
  let connectionClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (connectionClosed = resolve));
  const api = await silentApiserver(t, (request) => {
    // Never answer, like an apiserver behind a half-open connection; the client gives up instead.
    request.socket.on('close', connectionClosed);
    cancel.abort(new Error('renew deadline'));
  });

  await assert.rejects(kubeLeaseApi(api).read('ns', 'lease', cancel.signal), /renew deadline/);
  await closed;
});
