// The soak's faults: a seeded schedule, and how each fault is done to the stack or the replicas.
// A fault ends when what it broke is back (OpenBao or the apiserver serving again, the frozen
// leader thawed, the killed leader's successor free to take over); recovery is timed from there.

import { startOneAgain, stopOne, type StackState } from '../test/harness/stack.ts';
import type { Prng } from './prng.ts';
import type { Replicas } from './replicas.ts';
import { pause } from './kube.ts';

export const faultKinds = ['openbao-restart', 'leader-kill', 'leader-stop', 'apiserver-restart'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface ScheduledFault {
  readonly kind: FaultKind;
  /** Seconds after the load started. */
  readonly atS: number;
}

/**
 * One fault every `everyS` seconds (with seeded jitter of up to a third of that) from `everyS` on,
 * none in the last `tailS` (the run's final convergence); kinds in seeded order, each kind once
 * before any repeats.
 */
export function faultSchedule(
  prng: Prng,
  kinds: readonly FaultKind[],
  durationS: number,
  everyS: number,
  tailS: number,
): ScheduledFault[] {
  const faults: ScheduledFault[] = [];
  let round: FaultKind[] = [];
  for (let slot = 1; kinds.length > 0; slot += 1) {
    const atS = slot * everyS + prng.below(Math.max(1, Math.floor(everyS / 3)));
    if (atS > durationS - tailS) break;
    if (round.length === 0) round = shuffled(prng, kinds);
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
  readonly replicas: Replicas;
  readonly leaseSeconds: number;
  readonly log: (line: string) => void;
}

/** Does `kind` to the targets; answers when the fault has ended (epoch ms). */
export async function inject(kind: FaultKind, targets: FaultTargets): Promise<number> {
  switch (kind) {
    case 'openbao-restart':
      return restartDaemon(targets, 'openbao');
    case 'apiserver-restart':
      return restartDaemon(targets, 'kube-apiserver');
    case 'leader-kill': {
      const leader = await targets.replicas.untilLeader(60_000);
      targets.log(`SIGKILL to the leader, replica ${leader}`);
      targets.replicas.signal(leader, 'SIGKILL', false);
      return Date.now();
    }
    case 'leader-stop': {
      const leader = await targets.replicas.untilLeader(60_000);
      const frozenS = targets.leaseSeconds + 5;
      targets.log(
        `SIGSTOP to the leader, replica ${leader}, for ${frozenS}s (lease ${targets.leaseSeconds}s)`,
      );
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
