// A provider's failures as the rest of the operator sees them, whichever backend: a reason that
// maps to a status condition, and a message that is safe to show (it never carries a token,
// secret-id, JWT, client secret or value).

import type { reasons } from '../api/conditions.ts';

export type FailureReason =
  | typeof reasons.vaultUnavailable
  | typeof reasons.providerUnavailable
  | typeof reasons.forbidden
  | typeof reasons.pathNotFound
  | typeof reasons.authenticationFailed
  | typeof reasons.invalidSpec
  | typeof reasons.invalidValue
  | typeof reasons.issueFailed
  | typeof reasons.leaseExpired;

export class ProviderError extends Error {
  readonly reason: FailureReason;
  /** The HTTP status the backend answered, when it answered. */
  readonly status: number | undefined;
  /**
   * What the backend itself said (Vault's `errors`), for the operator's log only: its words are
   * not ours to show a tenant, in a status or an Event, and may echo what it was sent.
   */
  readonly detail: string | undefined;

  constructor(reason: FailureReason, message: string, status?: number, detail?: string) {
    super(message);
    this.name = 'ProviderError';
    this.reason = reason;
    this.status = status;
    this.detail = detail || undefined;
  }
}
