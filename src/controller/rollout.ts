// Rollout restarts, the pure part: a Secret's new data id, and whether a Secret's data calls for a
// restart of a workload now (which Secrets a workload reads is in kube/workload.ts).
//
// A restart patches the pod template with an annotation mapping each Secret to the data id the
// pods were restarted for (see dataIdAnnotation): an opaque random id, never derived from the
// data. A restart happens once per real change of the data: never for an operator restart, a
// resync or a metadata change, because the id stays the same then.

import { randomBytes } from 'node:crypto';
import type { Workload } from '../kube/workload.ts';

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
