// Status conditions: the reasons a SecretDefinition can be in, and the pure rules for updating
// its conditions so that lastTransitionTime moves only on a real transition.

import type { Condition, ConditionStatus } from './types.ts';

export const readyCondition = 'Ready';

/** Every reason the Ready condition can carry; each maps to something a user can act on. */
export const reasons = {
  synced: 'Synced',
  /** In sync, but Vault is read less often than the refresh interval asks (--vault.qps too low). */
  refreshStretched: 'RefreshStretched',
  invalidSpec: 'InvalidSpec',
  pathNotFound: 'PathNotFound',
  keyNotFound: 'KeyNotFound',
  invalidValue: 'InvalidValue',
  forbidden: 'Forbidden',
  pathNotAllowed: 'PathNotAllowed',
  vaultUnavailable: 'VaultUnavailable',
  /** A backend other than Vault (Azure Key Vault) cannot be reached or answers errors. */
  providerUnavailable: 'ProviderUnavailable',
  authenticationFailed: 'AuthenticationFailed',
  secretNotOwned: 'SecretNotOwned',
  conflict: 'Conflict',
  kubernetesError: 'KubernetesError',
  /** A template of spec.template does not parse or render. */
  templateError: 'TemplateError',
  /** A certificate or credentials could not be issued (PKI and dynamic definitions). */
  issueFailed: 'IssueFailed',
  /** A lease could not be renewed yet; the credentials in the Secret still work until it ends. */
  renewFailed: 'RenewFailed',
  /** The lease of the credentials in the Secret ended (or Vault no longer knows it) and new ones could not be issued. */
  leaseExpired: 'LeaseExpired',
  /** RolloutRestart condition: every target exists, and is restarted when the data changes. */
  targetsFound: 'TargetsFound',
  targetNotFound: 'TargetNotFound',
  targetDoesNotReadSecret: 'TargetDoesNotReadSecret',
  rolloutRestartDisabled: 'RolloutRestartDisabled',
} as const;

/** The condition a definition with rolloutRestartTargets carries next to Ready. */
export const rolloutRestartCondition = 'RolloutRestart';

export type Reason = (typeof reasons)[keyof typeof reasons];

export interface ConditionUpdate {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: Reason;
  readonly message: string;
}

/**
 * The conditions after applying `update` at `now`: the transition time is kept when the status
 * does not change, so a condition that is re-asserted is not a new event.
 */
export function setCondition(
  current: readonly Condition[] | undefined,
  update: ConditionUpdate,
  generation: number,
  now: Date,
): Condition[] {
  const existing = current?.find((c) => c.type === update.type);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    observedGeneration: generation,
    lastTransitionTime:
      existing && existing.status === update.status
        ? existing.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  return [...(current ?? []).filter((c) => c.type !== update.type), next];
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
