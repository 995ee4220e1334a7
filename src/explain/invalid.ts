// The explanation of a definition the cluster holds but the operator cannot read: its Ready
// condition says InvalidSpec with the same message, nothing is read from the backend and nothing
// would be written. (A file that is invalid is the caller's to fix: a usage error, not this.)

import { reasons } from '../api/conditions.ts';
import type { ObjectMeta } from '../api/types.ts';
import type { Explanation } from './explanation.ts';
import type { ExplainInputs } from './inputs.ts';

export interface InvalidDefinition {
  readonly metadata: ObjectMeta;
  /** The spec as the cluster has it: unchecked, read only for the Secret's name and type. */
  readonly spec: unknown;
  readonly problems: readonly string[];
}

export function invalidExplanation(
  invalid: InvalidDefinition,
  context: Pick<ExplainInputs, 'origin' | 'identity' | 'backend' | 'policy' | 'watched'> & {
    readonly rolloutRestart: boolean;
  },
): Explanation {
  const spec = (typeof invalid.spec === 'object' && invalid.spec !== null ? invalid.spec : {}) as Record<
    string,
    unknown
  >;
  const text = (value: unknown, otherwise: string) => (typeof value === 'string' ? value : otherwise);
  return {
    definition: { namespace: invalid.metadata.namespace, name: invalid.metadata.name },
    origin: context.origin,
    identity: context.identity,
    secret: { name: text(spec['name'], ''), type: text(spec['type'], 'Opaque') },
    backend: context.backend,
    policy: context.policy,
    watched: context.watched,
    // The reconciler's own words (controller/reconciler.ts).
    verdict: {
      ready: false,
      reason: reasons.invalidSpec,
      message: `invalid spec: ${invalid.problems.join('; ')}`,
    },
    wouldSync: false,
    paths: [],
    keys: [],
    changes: { kind: 'notSynced' },
    rollout: { enabled: context.rolloutRestart, restarts: [] },
    notes: ['the definition is not read further: the operator reads none of its paths until it is fixed'],
  };
}
