// Rollout restarts, the pure part: a Secret's new data id, and whether a Secret's data calls for a
// restart of a workload now (which Secrets a workload reads is in kube/workload.ts).
//
// A restart patches the pod template with an annotation mapping each Secret to the data id the
// pods were restarted for (see dataIdAnnotation): an opaque random id, never derived from the
// data. A restart happens once per real change of the data: never for an operator restart, a
// resync or a metadata change, because the id stays the same then.

import { randomBytes } from 'node:crypto';
import { workloadKey, type Workload, type WorkloadKind } from '../kube/workload.ts';

/** A new data id. */
export function newDataId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Whether `workload` must restart for Secret `secret` now holding the data of id `dataId`.
 * Restarted for this Secret before: when the id differs (also after an operator restart that
 * missed a change). Never restarted for it: only when this sync changed the data, since nothing
 * says whether its pods started before or after the current data.
 */
export function restartNeeded(
  workload: Workload,
  secret: string,
  dataId: string,
  dataChanged: boolean,
): boolean {
  const last = workload.restartedFor[secret];
  return last === undefined ? dataChanged : last !== dataId;
}

/** A definition's explicit restart target. */
export interface RestartTarget {
  readonly kind: WorkloadKind;
  readonly name: string;
}

/** Why an explicit target is not restarted. */
export interface TargetProblem {
  readonly target: RestartTarget;
  readonly problem: 'not found' | 'does not read the Secret';
}

/** A workload a Secret in sync concerns, by workload key, and whether its data calls for a restart now. */
export interface RestartCandidate {
  readonly key: string;
  readonly workload: Workload;
  readonly needed: boolean;
}

/**
 * What a Secret in sync asks of the workloads of its namespace: the explicit targets that are not
 * restarted and why (only a workload whose pods read the Secret is), and the targets and
 * auto-reload workloads that read it, each with whether it must restart (restartNeeded). A
 * Secret without a data id (undefined) concerns none: restarts start once its data has one.
 */
export function restartCandidates(
  targets: readonly RestartTarget[],
  namespace: {
    workload(kind: WorkloadKind, name: string): Workload | undefined;
    /** The auto-reload workloads whose pods read the Secret. */
    autoReloaders(): readonly Workload[];
  },
  secret: { readonly name: string; readonly dataId: string | undefined },
  dataChanged: boolean,
): { readonly problems: TargetProblem[]; readonly candidates: RestartCandidate[] } {
  const problems: TargetProblem[] = [];
  const workloads = new Map<string, Workload>();
  for (const target of targets) {
    const found = namespace.workload(target.kind, target.name);
    if (!found) problems.push({ target, problem: 'not found' });
    else if (!found.secrets.includes(secret.name))
      problems.push({ target, problem: 'does not read the Secret' });
    else workloads.set(workloadKey(found.kind, found.namespace, found.name), found);
  }
  const { dataId } = secret;
  if (dataId === undefined) return { problems, candidates: [] };
  for (const found of namespace.autoReloaders())
    workloads.set(workloadKey(found.kind, found.namespace, found.name), found);
  const candidates = [...workloads].map(([key, workload]) => ({
    key,
    workload,
    needed: restartNeeded(workload, secret.name, dataId, dataChanged),
  }));
  return { problems, candidates };
}
