// The explanation of a definition being deleted (metadata.deletionTimestamp): the operator no
// longer syncs it and writes no status to it; it only finalizes (controller/reconciler.ts
// #finalize). What is left to say is what becomes of its Secret. Pure.

import { legacyFinalizer, type SecretDefinition } from '../api/types.ts';
import { ownershipOf } from '../controller/ownership.ts';
import type { LiveSecret } from '../kube/live-secret.ts';
import type { Explanation } from './explanation.ts';
import type { ExplainInputs } from './inputs.ts';

/** explain's word for it: the operator writes no Ready condition to a definition being deleted. */
export const deletingReason = 'Deleting';

export interface Deletion {
  /** metadata.deletionTimestamp. */
  readonly since: string;
  /** What becomes of the Secret: deleted (by the operator or the garbage collector), kept, or there is none. */
  readonly secret: 'deleted' | 'kept' | 'absent';
  readonly message: string;
}

/** What deleting the definition does to its Secret, as the operator and the garbage collector would. */
export function deletionOf(
  definition: SecretDefinition,
  live: LiveSecret | undefined,
  watched: boolean,
): Deletion {
  const { metadata, spec } = definition;
  const since = metadata.deletionTimestamp ?? '';
  const legacy = metadata.finalizers.includes(legacyFinalizer);
  const others = metadata.finalizers.filter((f) => f !== legacyFinalizer);
  const ownership = ownershipOf(live, definition);
  // The operator acts only on the original's finalizer, and only in a namespace it watches.
  const finalizes = legacy && watched;
  const fate = ((): Pick<Deletion, 'secret' | 'message'> => {
    if (!live) return { secret: 'absent', message: `Secret ${spec.name} does not exist: nothing to delete` };
    if (finalizes && spec.deletionPolicy === 'Delete' && ownership.kind === 'ours')
      return { secret: 'deleted', message: `the operator would delete Secret ${spec.name}` };
    if (live.ownerReferences.some((ref) => ref.uid === metadata.uid))
      return {
        secret: 'deleted',
        message: `Kubernetes' garbage collector would delete Secret ${spec.name}: it has an owner reference to this definition${
          spec.deletionPolicy === 'Retain'
            ? ' (deletionPolicy is Retain, but the operator had not removed the reference yet)'
            : ''
        }`,
      };
    if (spec.deletionPolicy === 'Retain')
      return { secret: 'kept', message: `Secret ${spec.name} would be kept (deletionPolicy: Retain)` };
    return {
      secret: 'kept',
      message:
        ownership.kind === 'notOwned' || ownership.kind === 'conflict'
          ? `Secret ${spec.name} would be kept: it is not this definition's`
          : `Secret ${spec.name} would be kept: it has no owner reference to this definition (the operator adds one when it syncs, and no longer will)`,
    };
  })();
  const finalizer = !legacy
    ? []
    : finalizes
      ? [`the operator would remove the finalizer ${legacyFinalizer}`]
      : [
          `the operator does not watch namespace ${metadata.namespace}, so nothing removes the finalizer ${legacyFinalizer} and the definition stays`,
        ];
  const waits = others.length
    ? [`the definition stays until its other finalizers are removed: ${others.join(', ')}`]
    : [];
  return { since, secret: fate.secret, message: [fate.message, ...finalizer, ...waits].join('; ') };
}

export function deletingExplanation(
  definition: SecretDefinition,
  live: LiveSecret | undefined,
  context: Pick<ExplainInputs, 'origin' | 'identity' | 'backend' | 'policy' | 'watched'> & {
    readonly rolloutRestart: boolean;
  },
): Explanation {
  const { metadata, spec } = definition;
  return {
    definition: { namespace: metadata.namespace, name: metadata.name },
    origin: context.origin,
    identity: context.identity,
    secret: { name: spec.name, type: spec.type },
    backend: context.backend,
    policy: context.policy,
    watched: context.watched,
    verdict: {
      ready: false,
      reason: deletingReason,
      message: `SecretDefinition ${metadata.name} is being deleted (since ${metadata.deletionTimestamp ?? ''}): the operator no longer syncs it and writes no status to it`,
    },
    wouldSync: false,
    paths: [],
    keys: [],
    changes: { kind: 'notSynced' },
    rollout: { enabled: context.rolloutRestart, restarts: [] },
    deletion: deletionOf(definition, live, context.watched),
    notes: ['nothing is read from the backend: the operator reads none of its paths while it is deleted'],
  };
}
