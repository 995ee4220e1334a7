// The lease of dynamic credentials as the functional core sees it: when it began and ends, when it
// is renewed next, what a renewal that grants less than asked means, and what a Secret's record
// and the definition's status say of a lease after a restart. No I/O; times are epoch ms.

import type { DynamicStatus } from '../api/types.ts';
import type { LeaseGrant } from '../providers/provider.ts';
import type { RecordedLease } from './issued-record.ts';

export interface LeaseState {
  readonly id: string;
  renewable: boolean;
  readonly issuedAt: number;
  /** The lease granted at issue: each renewal asks for as much again. */
  readonly askedSeconds: number;
  /** When the current grant began, and its length. */
  grantedAt: number;
  durationSeconds: number;
  expiresAt: number;
  /** When new credentials are due though the lease lives on: it cannot be extended to full length. */
  replaceAt?: number;
}

/** How long before its end a certificate or lease counts as ended: a request in flight must not outlive it. */
export const expirySafetyMs = 1_000;

/** A time as the status writes it: RFC 3339 to the second. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A lease Vault just granted at `now`. */
export function newLease(grant: LeaseGrant & { readonly id: string }, now: number): LeaseState {
  return {
    id: grant.id,
    renewable: grant.renewable,
    issuedAt: now,
    askedSeconds: grant.durationSeconds,
    grantedAt: now,
    durationSeconds: grant.durationSeconds,
    expiresAt: now + grant.durationSeconds * 1000,
  };
}

/**
 * The lease a Secret records, brought up to date by the status when the status is about the same
 * credentials (same issuedAt): how the last renewal went. A status that does not parse is ignored.
 */
export function recordedLease(recorded: RecordedLease, last: DynamicStatus | null | undefined): LeaseState {
  const lease: LeaseState = {
    id: recorded.id,
    renewable: recorded.renewable,
    issuedAt: recorded.issuedAt,
    askedSeconds: recorded.durationSeconds,
    grantedAt: recorded.issuedAt,
    durationSeconds: recorded.durationSeconds,
    expiresAt: recorded.issuedAt + recorded.durationSeconds * 1000,
  };
  const expiresAt = typeof last?.leaseExpiresAt === 'string' ? Date.parse(last.leaseExpiresAt) : NaN;
  const duration = last?.leaseDurationSeconds;
  if (
    last?.issuedAt === iso(recorded.issuedAt) &&
    Number.isFinite(expiresAt) &&
    typeof duration === 'number' &&
    Number.isSafeInteger(duration) &&
    duration >= 0
  ) {
    lease.expiresAt = expiresAt;
    lease.durationSeconds = duration;
    lease.grantedAt = expiresAt - duration * 1000;
  }
  return lease;
}

/** When the lease is renewed next: at `percent` of its current grant. */
export function renewAt(lease: LeaseState, percent: number): number {
  return lease.grantedAt + Math.round(lease.durationSeconds * 10 * percent);
}

/** When to look at the lease next: its renewal, its replacement, or (at the latest) its end. */
export function leaseNextAt(lease: LeaseState, percent: number, now: number): number {
  // A lease that cannot be renewed is replaced at the same share of its life.
  const next = Math.min(
    renewAt(lease, percent),
    lease.replaceAt ?? Infinity,
    lease.expiresAt - expirySafetyMs,
  );
  return Math.max(next, now);
}

/** What the status says of the lease: never its id. */
export function leaseStatus(lease: LeaseState, nextAt: number): DynamicStatus {
  return {
    issuedAt: iso(lease.issuedAt),
    leaseDurationSeconds: lease.durationSeconds,
    leaseExpiresAt: iso(lease.expiresAt),
    nextRenewal: iso(nextAt),
  };
}

/**
 * A renewal granted `grant` at `now`. Less than asked means the end is near (the role's max TTL,
 * or the end of the token that issued it): the next credentials are due while this lease still
 * has a share of its grant left.
 */
export function renewed(lease: LeaseState, grant: LeaseGrant, now: number, percent: number): void {
  lease.grantedAt = now;
  lease.durationSeconds = grant.durationSeconds;
  lease.expiresAt = now + grant.durationSeconds * 1000;
  lease.renewable = grant.renewable;
  if (grant.durationSeconds < lease.askedSeconds)
    lease.replaceAt = Math.min(lease.replaceAt ?? Infinity, renewAt(lease, percent));
}
