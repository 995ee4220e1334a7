// Vault failures as the rest of the operator sees them: a reason that maps to a status condition,
// and a message that is safe to show (it never carries a token, secret-id, JWT or value).

import type { reasons } from '../api/conditions.ts';

export type VaultFailureReason =
  | typeof reasons.vaultUnavailable
  | typeof reasons.forbidden
  | typeof reasons.pathNotFound
  | typeof reasons.authenticationFailed
  | typeof reasons.invalidSpec
  | typeof reasons.invalidValue;

export class VaultError extends Error {
  readonly reason: VaultFailureReason;
  /** The HTTP status Vault answered, when it answered. */
  readonly status: number | undefined;

  constructor(reason: VaultFailureReason, message: string, status?: number) {
    super(message);
    this.name = 'VaultError';
    this.reason = reason;
    this.status = status;
  }
}

/** The `errors` array of a Vault error body, as plain strings. */
export function vaultErrorMessages(body: unknown): string {
  const errors = (body as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return '';
  return errors
    .filter((e): e is string => typeof e === 'string')
    .map((e) => e.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('; ')
    .slice(0, 500);
}
