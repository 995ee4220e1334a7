// Which workloads a rollout restart would restart if the definition were applied now: the
// operator's own choice (controller/rollout.ts restartCandidates), made on a list of workloads,
// for the data id the Secret would carry after the write (controller/secret-writer.ts). Pure.

import { dataIdAnnotation, type SecretDefinition } from '../api/types.ts';
import { restartCandidates } from '../controller/rollout.ts';
import { rolloutCondition } from '../controller/restarter.ts';
import type { LiveSecret } from '../kube/live-secret.ts';
import { dataChanges, type SecretChanges } from './changes.ts';
import type { ExplainInputs } from './inputs.ts';

export interface RolloutExplanation {
  /** --rollout-restart. */
  readonly enabled: boolean;
  /** "Deployment web", in key order: what the operator would restart after this sync. */
  readonly restarts: readonly string[];
  /** The RolloutRestart condition the status would carry; undefined without rolloutRestartTargets. */
  readonly condition?: { readonly status: string; readonly reason: string; readonly message: string };
}

/**
 * Stands for the random id a write of new data gets: no workload was restarted for it, and ids
 * are base64url, so it never equals one a pod template records.
 */
const newDataId = '(new data id)';

/**
 * The Secret's data id after the sync, as the writer sets it: a new one when the data changes (or
 * the Secret is created), else the one the live Secret carries, if any.
 */
function dataIdAfter(changes: SecretChanges, live: LiveSecret | undefined): string | undefined {
  if (changes.kind === 'create' || dataChanges(changes)) return newDataId;
  return live?.annotations[dataIdAnnotation];
}

export function rolloutOf(
  definition: SecretDefinition,
  rollout: ExplainInputs['rollout'],
  changes: SecretChanges,
  live: LiveSecret | undefined,
): RolloutExplanation {
  const { spec, metadata } = definition;
  const targets = spec.rolloutRestartTargets;
  if (!rollout.enabled) {
    const condition = rolloutCondition(targets, 'disabled', metadata.namespace, spec.name);
    return { enabled: false, restarts: [], ...(condition ? { condition } : {}) };
  }
  const inNamespace = rollout.workloads.filter((w) => w.namespace === metadata.namespace);
  // A definition that would not sync restarts nothing: the operator restarts after a sync only.
  const synced = changes.kind !== 'notSynced';
  const { problems, candidates } = restartCandidates(
    targets,
    {
      workload: (kind, name) => inNamespace.find((w) => w.kind === kind && w.name === name),
      autoReloaders: () => inNamespace.filter((w) => w.autoReload && w.secrets.includes(spec.name)),
    },
    { name: spec.name, dataId: synced ? dataIdAfter(changes, live) : undefined },
    // As the reconciler says it: a Secret that held other data before (a new one held none).
    dataChanges(changes),
  );
  const restarts = candidates
    .filter((c) => c.needed)
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .map((c) => `${c.workload.kind} ${c.workload.name}`);
  const condition = rolloutCondition(targets, problems, metadata.namespace, spec.name);
  return { enabled: true, restarts, ...(condition ? { condition } : {}) };
}
