// Which workloads a rollout restart would restart if the definition were applied now: the same
// choice as the Restarter's (controller/restarter.ts), made on a list of workloads. Pure.

import type { SecretDefinition } from '../api/types.ts';
import { rolloutCondition, type TargetProblem } from '../controller/restarter.ts';
import { workloadKey, type Workload } from '../kube/workload.ts';
import { dataChanges, type SecretChanges } from './changes.ts';
import type { ExplainInputs } from './inputs.ts';

export interface RolloutExplanation {
  /** --rollout-restart. */
  readonly enabled: boolean;
  /** "Deployment web", in key order: restarted because the data would change. */
  readonly restarts: readonly string[];
  /** The RolloutRestart condition the status would carry; undefined without rolloutRestartTargets. */
  readonly condition?: { readonly status: string; readonly reason: string; readonly message: string };
}

export function rolloutOf(
  definition: SecretDefinition,
  rollout: ExplainInputs['rollout'],
  changes: SecretChanges,
): RolloutExplanation {
  const { spec, metadata } = definition;
  const targets = spec.rolloutRestartTargets;
  if (!rollout.enabled) {
    const condition = rolloutCondition(targets, 'disabled', metadata.namespace, spec.name);
    return { enabled: false, restarts: [], ...(condition ? { condition } : {}) };
  }
  const inNamespace = rollout.workloads.filter((w) => w.namespace === metadata.namespace);
  const chosen = new Map<string, Workload>();
  const problems: TargetProblem[] = [];
  for (const target of targets) {
    const found = inNamespace.find((w) => w.kind === target.kind && w.name === target.name);
    if (!found) problems.push({ target, problem: 'not found' });
    else if (!found.secrets.includes(spec.name))
      problems.push({ target, problem: 'does not read the Secret' });
    else chosen.set(workloadKey(found.kind, found.namespace, found.name), found);
  }
  for (const w of inNamespace)
    if (w.autoReload && w.secrets.includes(spec.name))
      chosen.set(workloadKey(w.kind, w.namespace, w.name), w);
  // A new Secret restarts nothing (its pods were waiting for it); unchanged data neither.
  const restarts = dataChanges(changes)
    ? [...chosen.keys()].sort().map((key) => {
        const w = chosen.get(key) as Workload;
        return `${w.kind} ${w.name}`;
      })
    : [];
  const condition = rolloutCondition(targets, problems, metadata.namespace, spec.name);
  return { enabled: true, restarts, ...(condition ? { condition } : {}) };
}
