// What a Secret of a PKI or dynamic definition records of what was issued into it (its
// secrets-manager.tuenti.io/issued annotation), so that a restarted operator, or a new leader,
// finds the current certificate or lease instead of issuing again: which spec it was issued for,
// which keys are the issued ones and a digest of their values (an edit of the Secret is seen), and
// for dynamic credentials the lease to renew and revoke. No value is recorded. Pure.

import { createHash } from 'node:crypto';
import type { SecretDefinitionSpec } from '../api/types.ts';

export interface RecordedLease {
  readonly id: string;
  readonly renewable: boolean;
  /** When the credentials were issued (epoch ms). */
  readonly issuedAt: number;
  /** The lease Vault granted at issue, seconds: what each renewal asks for again. */
  readonly durationSeconds: number;
}

export interface IssuedRecord {
  /** The uid of the SecretDefinition it was issued for: a record copied to another is not its. */
  readonly uid: string;
  /** The fingerprint of the spec fields the credentials were issued for (issueFingerprint). */
  readonly for: string;
  /** The issued keys, as the Secret's data holds them. */
  readonly keys: readonly string[];
  /** The digest of the issued keys' values (issuedDigest). */
  readonly digest: string;
  readonly lease?: RecordedLease;
}

const recordVersion = 1;
const maxRecordLength = 8_192;
const maxKeys = 64;
/** A Secret data key: what else a record names is no key of the Secret. */
const dataKeyPattern = /^[-._a-zA-Z0-9]+$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * What a change of calls for new certificates or credentials: the issuing path and what is sent
 * to it. renewBefore, renewPercent and revokeOnDelete only change when and what happens next.
 */
export function issueFingerprint(spec: SecretDefinitionSpec): string {
  const { pki, dynamic } = spec;
  const asked = pki
    ? ['pki', pki.path, pki.commonName, [...pki.altNames].sort(), [...pki.ipSans].sort(), pki.ttlMs ?? null]
    : dynamic
      ? ['dynamic', dynamic.path, dynamic.method, Object.entries(dynamic.params).sort()]
      : ['none'];
  return sha256(JSON.stringify(asked)).slice(0, 22);
}

/** The digest of the values of `keys` in `data` (base64 values); a key that is missing counts as such. */
export function issuedDigest(data: Readonly<Record<string, string>>, keys: readonly string[]): string {
  const entries = [...keys].sort().map((key) => [key, Object.hasOwn(data, key) ? data[key] : null]);
  return sha256(JSON.stringify(entries));
}

export function formatIssuedRecord(record: IssuedRecord): string {
  return JSON.stringify({ v: recordVersion, ...record });
}

/** Bounds that keep every time computed from a record a valid date (year 9999 and 100 years). */
const maxEpochMs = Date.UTC(9999, 0, 1);
const maxLeaseSeconds = 100 * 365 * 24 * 3600;

const isCount = (value: unknown, max: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;

/** The record in an annotation, or undefined for anything that is not one (edited, foreign, damaged). */
export function parseIssuedRecord(text: string | undefined): IssuedRecord | undefined {
  if (text === undefined || text.length > maxRecordLength) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const keys = r['keys'];
  if (
    r['v'] !== recordVersion ||
    typeof r['uid'] !== 'string' ||
    typeof r['for'] !== 'string' ||
    typeof r['digest'] !== 'string' ||
    !Array.isArray(keys) ||
    keys.length > maxKeys ||
    !keys.every((key) => typeof key === 'string' && key.length <= 253 && dataKeyPattern.test(key))
  )
    return undefined;
  const base = { uid: r['uid'], for: r['for'], keys, digest: r['digest'] };
  if (r['lease'] === undefined) return base;
  const lease = r['lease'] as Record<string, unknown> | null;
  if (
    typeof lease !== 'object' ||
    lease === null ||
    typeof lease['id'] !== 'string' ||
    typeof lease['renewable'] !== 'boolean' ||
    !isCount(lease['issuedAt'], maxEpochMs) ||
    !isCount(lease['durationSeconds'], maxLeaseSeconds)
  )
    return undefined;
  return {
    ...base,
    lease: {
      id: lease['id'],
      renewable: lease['renewable'],
      issuedAt: lease['issuedAt'],
      durationSeconds: lease['durationSeconds'],
    },
  };
}
