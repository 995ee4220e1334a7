// Whose Secret is it? A pure decision from what the Secret says about itself.

import {
  kind,
  managedByLabel,
  managedByValue,
  ownerAnnotation,
  type SecretDefinition,
} from '../api/types.ts';
import type { LiveSecret } from '../kube/live-secret.ts';

export type Ownership =
  | { readonly kind: 'absent' }
  /** Ours already, or a Secret of an earlier definition of the same name, or the original operator's: take it. */
  | { readonly kind: 'ours'; readonly adopting: boolean }
  | { readonly kind: 'conflict'; readonly otherDefinition: string }
  | { readonly kind: 'notOwned'; readonly detail: string };

export function ownershipOf(live: LiveSecret | undefined, definition: SecretDefinition): Ownership {
  if (!live) return { kind: 'absent' };
  const { name, uid } = definition.metadata;
  const controller = live.ownerReferences.find((ref) => ref.controller);
  if (controller) {
    if (controller.kind === kind && controller.apiVersion.startsWith('secrets-manager.tuenti.io/')) {
      if (controller.uid === uid) return { kind: 'ours', adopting: false };
      // A definition deleted and created again under its name takes its Secret back.
      if (controller.name === name) return { kind: 'ours', adopting: true };
      return { kind: 'conflict', otherDefinition: controller.name };
    }
    return { kind: 'notOwned', detail: `it is controlled by ${controller.kind} ${controller.name}` };
  }
  const owner = live.annotations[ownerAnnotation];
  if (owner !== undefined) {
    return owner === name ? { kind: 'ours', adopting: false } : { kind: 'conflict', otherDefinition: owner };
  }
  // Written by the original secrets-manager, which marked its Secrets with this label only.
  if (live.labels[managedByLabel] === managedByValue) return { kind: 'ours', adopting: true };
  return {
    kind: 'notOwned',
    detail: `it was not created by secrets-manager (no ${ownerAnnotation} annotation)`,
  };
}
