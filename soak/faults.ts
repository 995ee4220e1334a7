// The soak's faults: a seeded schedule, and how each fault is done to the stack or the replicas.
// A fault ends when what it broke is back (OpenBao or the apiserver serving again, Vault answering,
// the frozen leader thawed, the killed leader's successor free to take over); recovery is timed
// from there.

import { startOneAgain, stopOne, type StackState } from '../test/harness/stack.ts';
import type { VaultAdmin } from '../test/harness/vault.ts';
import type { Prng } from './prng.ts';
import type { Replicas } from './replicas.ts';
import type { VaultProxy } from './vault-proxy.ts';
import { pause } from './kube.ts';

/** Faults that end an operator process: the RSS of the last half is measured on processes none of them ended. */
export const replicaFaults = ['leader-kill', 'leader-kill-mid-sync', 'leader-stop'] as const;
/** Faults of what the operator depends on. */
export const stackFaults = [
  'openbao-restart',
  'openbao-seal',
  'vault-hang',
  'token-revoke',
  'apiserver-restart',
] as const;
export const faultKinds = [...replicaFaults, ...stackFaults] as const;
export type FaultKind = (typeof faultKinds)[number];

/**
 * Faults after which a replica process ends: the replica faults, and an apiserver down for longer
 * than the renew deadline, after which the leader cannot renew its Lease and exits (seen in the
 * first 60-minute run: three apiserver restarts in the last half left no process to measure).
 */
export const processEndingFaults: readonly FaultKind[] = [...replicaFaults, 'apiserver-restart'];

export interface ScheduledFault {
  readonly kind: FaultKind;
  /** Seconds after the load started. */
  readonly atS: number;
}

/**
 * One fault every `everyS` seconds (with seeded jitter of up to a third of that) from `everyS` on,
 * none in the last `tailS` (the run's final convergence); kinds in seeded order, each kind once
 * before any repeats. Faults that end an operator process stop at `quietReplicasFromS` (moved later
 * if it leaves too few slots for one of each), so memory is measured on processes that lived
 * through the rest of the run; each of them still comes once before then: when the slots left
 * before it are no more than the ones not yet injected, those slots are theirs.
 */
export function faultSchedule(
  prng: Prng,
  kinds: readonly FaultKind[],
  durationS: number,
  everyS: number,
  tailS: number,
  quietReplicasFromS = Infinity,
): ScheduledFault[] {
  const ends = kinds.filter((k) => processEndingFaults.includes(k));
  const jitterS = Math.max(1, Math.floor(everyS / 3));
  // Late enough for one slot per process-ending kind whatever the jitter (slots from 1 on).
  const quietS = Math.max(quietReplicasFromS, ends.length * everyS + jitterS);
  // Slots from this one on that fall before the quiet time whatever their jitter.
  const earlySlotsFrom = (slot: number): number =>
    Math.max(0, Math.ceil((Math.min(quietS, durationS - tailS) - jitterS + 1) / everyS) - slot);
  const faults: ScheduledFault[] = [];
  let round: FaultKind[] = [];
  for (let slot = 1; kinds.length > 0; slot += 1) {
    const atS = slot * everyS + prng.below(jitterS);
    if (atS > durationS - tailS) break;
    const missing = ends.filter((k) => !faults.some((f) => f.kind === k));
    if (
      Number.isFinite(quietS) &&
      atS < quietS &&
      missing.length > 0 &&
      earlySlotsFrom(slot) <= missing.length
    ) {
      // This slot is a missing kind's; the rest of the round waits for the next ones.
      const kind = missing[prng.below(missing.length)];
      if (kind) faults.push({ kind, atS });
      round = round.filter((k) => k !== kind);
      continue;
    }
    const allowed = atS >= quietS ? kinds.filter((k) => !ends.includes(k)) : kinds;
    if (allowed.length === 0) continue;
    round = round.filter((k) => allowed.includes(k));
    if (round.length === 0) round = shuffled(prng, allowed);
    const kind = round.pop();
    if (kind) faults.push({ kind, atS });
  }
  return faults;
}

function shuffled<T>(prng: Prng, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = prng.below(i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

export interface FaultTargets {
  /** The stack; a restarted daemon has a new pid, so this is replaced. */
  state: StackState;
  readonly vault: VaultAdmin;
  /** What the replicas reach Vault through. */
  readonly proxy: VaultProxy;
  /** The AppRole mount the replicas log in at: its tokens are the ones revoked. */
  readonly approleMount: string;
  readonly replicas: Replicas;
  /** Rotates many paths at once: the leader has work in flight when it is killed. */
  readonly burst: () => Promise<number>;
  readonly leaseSeconds: number;
  /** How long Vault stays sealed or silent. */
  readonly outageSeconds: number;
  readonly log: (line: string) => void;
}

/**
 * Faults after which no replica may write until the old leader's Lease runs out: a killed leader
 * holds it to the end, and one that could not renew through an apiserver restart has exited.
 */
export const leaderLosingFaults: readonly FaultKind[] = [
  'leader-kill',
  'leader-kill-mid-sync',
  'apiserver-restart',
];

/**
 * Seconds after a fault's end by which every definition must be correct again: one refresh
 * interval and the checker's slack, and the Lease on top where a successor must wait it out.
 */
export function recoveryBudgetS(
  kind: FaultKind,
  times: { readonly intervalSeconds: number; readonly leaseSeconds: number; readonly slackSeconds: number },
): number {
  const lease = leaderLosingFaults.includes(kind) ? times.leaseSeconds : 0;
  return times.intervalSeconds + lease + times.slackSeconds;
}

/** Does `kind` to the targets; answers when the fault has ended (epoch ms). */
export async function inject(kind: FaultKind, targets: FaultTargets): Promise<number> {
  const { log } = targets;
  switch (kind) {
    case 'openbao-restart':
      return restartDaemon(targets, 'openbao');
    case 'apiserver-restart':
      return restartDaemon(targets, 'kube-apiserver');
    case 'openbao-seal': {
      log(`sealing OpenBao for ${targets.outageSeconds}s`);
      await targets.vault.call('PUT', 'sys/seal');
      await pause(targets.outageSeconds * 1000);
      // The stack's OpenBao unseals itself with its static key when it starts.
      return restartDaemon(targets, 'openbao');
    }
    case 'vault-hang': {
      log(`Vault accepts connections and never answers, for ${targets.outageSeconds}s`);
      targets.proxy.hang();
      await pause(targets.outageSeconds * 1000);
      targets.proxy.heal();
      return Date.now();
    }
    case 'token-revoke': {
      log(`revoking every token of auth/${targets.approleMount} (the replicas' Vault tokens)`);
      await targets.vault.call('PUT', `sys/leases/revoke-prefix/auth/${targets.approleMount}/login`);
      return Date.now();
    }
    case 'leader-kill': {
      const leader = await targets.replicas.untilLeader(60_000);
      log(`SIGKILL to the leader, replica ${leader}`);
      targets.replicas.signal(leader, 'SIGKILL', false);
      return Date.now();
    }
    case 'leader-kill-mid-sync': {
      const leader = await targets.replicas.untilLeader(60_000);
      const rotated = await targets.burst();
      log(
        `SIGKILL to the leader, replica ${leader}, just after ${rotated} paths rotated at once (killed mid-sync)`,
      );
      targets.replicas.signal(leader, 'SIGKILL', false);
      return Date.now();
    }
    case 'leader-stop': {
      const leader = await targets.replicas.untilLeader(60_000);
      const frozenS = targets.leaseSeconds + 5;
      log(`SIGSTOP to the leader, replica ${leader}, for ${frozenS}s (lease ${targets.leaseSeconds}s)`);
      targets.replicas.signal(leader, 'SIGSTOP', true);
      await pause(frozenS * 1000);
      targets.replicas.signal(leader, 'SIGCONT', false);
      targets.replicas.release(leader);
      return Date.now();
    }
  }
}

async function restartDaemon(targets: FaultTargets, name: 'openbao' | 'kube-apiserver'): Promise<number> {
  targets.log(`restarting ${name}`);
  await stopOne(targets.state, name);
  targets.state = await startOneAgain(targets.state, name);
  return Date.now();
}
