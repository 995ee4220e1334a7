// The lifecycle of what a PKI or dynamic definition issues: a certificate or credentials are
// issued at the first sync, then kept, renewed or issued again by their own clock, never by the
// refresh timer (every issue makes new ones). What is in each Secret is held here, and recorded
// in the Secret itself (issued-record.ts), so a restarted operator or a new leader takes up the
// current certificate or lease instead of issuing again. New ones are issued before the old ones
// end; an old lease is revoked a grace period after the Secret holding its successor was written,
// so consumers that restart onto the new credentials have time to. A definition that goes
// revokes its lease (unless revokeOnDelete is false).

import { createHash } from 'node:crypto';
import { reasons } from '../api/conditions.ts';
import { issuedAnnotation, type DynamicStatus, type PkiStatus, type SecretDefinition } from '../api/types.ts';
import type { Clock, Timer } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import type { LiveSecret } from '../kube/live-secret.ts';
import type { SecretApi } from '../kube/secret-api.ts';
import { ProviderError } from '../providers/errors.ts';
import type { ProviderSources } from '../providers/provider.ts';
import { certificateData, certificateDueAt, certificateFacts, type CertificateFacts } from './certificate.ts';
import { formatIssuedRecord, issuedDigest, issueFingerprint, parseIssuedRecord } from './issued-record.ts';
import { credentialsData, issueRequest } from './issue-request.ts';
import {
  expirySafetyMs,
  iso,
  leaseNextAt,
  leaseStatus,
  newLease,
  recordedLease,
  renewAt,
  renewed,
  type LeaseState,
} from './lease-state.ts';
import type { Failure } from './reporter.ts';

export type Engine = 'pki' | 'dynamic';

export interface IssuanceObserver {
  issued(engine: Engine, ok: boolean): void;
  renewed(ok: boolean): void;
  revoked(ok: boolean): void;
  /** When the certificate or lease in a definition's Secret ends (epoch ms). */
  expires(namespace: string, name: string, engine: Engine, atMs: number): void;
  /**
   * When it is next renewed or replaced (epoch ms): a time that passes with no new one set is a
   * renewal that did not happen.
   */
  renewsAt(namespace: string, name: string, engine: Engine, atMs: number): void;
  /** The definition's Secret holds nothing issued any more. */
  cleared(namespace: string, name: string): void;
}

export interface IssuanceLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface IssuanceDeps {
  readonly clock: Clock;
  /** Reads a Secret's data once, when a restarted operator takes up what it holds. */
  readonly secrets: Pick<SecretApi, 'snapshot'>;
  /** How long an old lease outlives the write of its successor (--lease-revoke-grace). */
  readonly graceMs: number;
  readonly observer: IssuanceObserver;
  readonly logger: IssuanceLogger;
}

/** What the definition's Secret holds of what was issued, and what comes next. */
export type Prepared =
  | {
      readonly ok: true;
      /** The issued keys, base64. */
      readonly data: Readonly<Record<string, string>>;
      /** The issued annotation's value. */
      readonly annotation: string;
      readonly status: { readonly pki?: PkiStatus; readonly dynamic?: DynamicStatus };
      /** When to look again (epoch ms): the renewal or the next issue. */
      readonly nextAt: number;
      /** Set when these were issued by this call and are not in the Secret yet: the Event's words. */
      readonly issued?: string;
    }
  | { readonly ok: false; readonly failure: Failure };

interface Held {
  readonly fingerprint: string;
  readonly engine: Engine;
  readonly data: Readonly<Record<string, string>>;
  readonly certificate?: CertificateFacts;
  readonly lease?: LeaseState;
  readonly sources: ProviderSources;
  /** As the spec last said: it may change without new ones being issued. */
  revokeOnDelete: boolean;
  /** Why it was issued, while it is not in the Secret yet. */
  readonly issued?: string;
}

/** The shortest lease worth writing: a shorter one would be replaced about as fast as it is written. */
const minLeaseSeconds = 10;

/** A fraction in [0, 1) of a lease id, the same in every process: spreads timers over leases. */
function spreadOf(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}

/** What is held once it is in the Secret: no longer news. */
function withoutIssued(held: Held): Held {
  const kept: { -readonly [K in keyof Held]?: Held[K] } = { ...held };
  delete kept.issued;
  return kept as Held;
}

export class Issuance {
  readonly #deps: IssuanceDeps;
  /** Definition key to what its Secret holds. */
  readonly #held = new Map<string, Held>();
  /** Definition key to what was issued for it and is not in its Secret yet. */
  readonly #pending = new Map<string, Held>();
  /** Leases waiting out the grace period before their revocation, by id. */
  readonly #revoking = new Map<string, Timer>();
  #stopped = false;

  constructor(deps: IssuanceDeps) {
    this.#deps = deps;
  }

  /**
   * What the Secret of `definition` (a pki or dynamic one) should hold of what was issued:
   * what it holds, renewed when due, or new ones. Never throws a ProviderError: a failure is
   * answered, and the Secret keeps what it has. A KubeError (reading the Secret) is thrown.
   */
  async prepare(
    key: string,
    definition: SecretDefinition,
    sources: ProviderSources,
    live: LiveSecret | undefined,
  ): Promise<Prepared> {
    const fingerprint = issueFingerprint(definition.spec);
    const pending = this.#pending.get(key);
    if (pending) {
      // Not written yet (a write failed): the same ones again, while they are still good.
      if (pending.fingerprint === fingerprint && this.#stillGood(pending)) {
        pending.revokeOnDelete = definition.spec.dynamic?.revokeOnDelete ?? false;
        return this.#prepared(definition, pending);
      }
      // Issued for a spec that changed, or ended, before a write that may have reached the Secret.
      this.#pending.delete(key);
      this.#revokeLater(pending, this.#deps.graceMs);
    }
    let held = this.#held.get(key);
    let why: string | undefined;
    if (!held) {
      const recovered = await this.#recover(key, definition, sources, live, fingerprint);
      if (typeof recovered === 'string') why = recovered;
      else {
        this.#held.set(key, (held = recovered));
        this.#expires(definition, held);
      }
    }
    if (held && held.fingerprint !== fingerprint) why = 'the spec asks for different ones';
    if (held) held.revokeOnDelete = definition.spec.dynamic?.revokeOnDelete ?? false;
    if (held && !why) {
      const due = await this.#due(held, definition);
      if (typeof due === 'object') return { ok: false, failure: due };
      why = due;
    }
    if (held && !why) return this.#prepared(definition, held);
    const issued = await this.#issue(key, definition, sources, fingerprint, why ?? 'first sync');
    if ('reason' in issued) return { ok: false, failure: issued };
    this.#pending.set(key, issued);
    return this.#prepared(definition, issued);
  }

  /** The Secret now holds what prepare answered: what it held before is retired. */
  committed(key: string, definition: SecretDefinition): void {
    const pending = this.#pending.get(key);
    if (!pending) return;
    this.#pending.delete(key);
    const before = this.#held.get(key);
    this.#held.set(key, withoutIssued(pending));
    if (before) this.#revokeLater(before, this.#deps.graceMs);
    this.#expires(definition, pending);
  }

  #cleared(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    this.#deps.observer.cleared(namespace, name);
  }

  /** Whether what was issued can still go into the Secret: not ended, nor about to. */
  #stillGood(held: Held): boolean {
    const endsAt = held.certificate?.notAfter ?? held.lease?.expiresAt ?? 0;
    return this.#deps.clock.now() < endsAt - expirySafetyMs;
  }

  /** The expiry gauge of the definition: what its Secret holds now. */
  #expires(definition: SecretDefinition, held: Held): void {
    const { namespace, name } = definition.metadata;
    const endsAt = held.certificate?.notAfter ?? held.lease?.expiresAt;
    if (endsAt !== undefined) this.#deps.observer.expires(namespace, name, held.engine, endsAt);
  }

  /**
   * The definition no longer issues (its spec changed) and its Secret was written without what was
   * issued: that is retired, its lease revoked after the grace period.
   */
  release(key: string): void {
    const held = this.#held.get(key);
    const pending = this.#pending.get(key);
    if (!held && !pending) return;
    this.#held.delete(key);
    this.#pending.delete(key);
    if (held) this.#revokeLater(held, this.#deps.graceMs);
    if (pending) this.#revokeLater(pending, this.#deps.graceMs);
    this.#cleared(key);
  }

  /**
   * The definition is gone: the lease in its Secret is revoked now, unless it said
   * revokeOnDelete: false; one issued and not written yet is revoked in any case.
   */
  async forget(key: string): Promise<void> {
    const held = this.#held.get(key);
    const pending = this.#pending.get(key);
    this.#held.delete(key);
    this.#pending.delete(key);
    if (held?.lease && held.revokeOnDelete) await this.#revoke(held);
    if (pending?.lease) await this.#revoke(pending);
    if (held || pending) this.#cleared(key);
  }

  /** When the definition's certificate or lease needs a look next (epoch ms); undefined when none is held. */
  nextAt(key: string, definition: SecretDefinition): number | undefined {
    const held = this.#pending.get(key) ?? this.#held.get(key);
    return held ? this.#prepared(definition, held).nextAt : undefined;
  }

  /** Cancels the revocations still waiting: those leases end at their own time. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#revoking.values()) timer.cancel();
    this.#revoking.clear();
  }

  #prepared(definition: SecretDefinition, held: Held): Extract<Prepared, { ok: true }> {
    const { clock } = this.#deps;
    const keys = Object.keys(held.data);
    const lease = held.lease;
    const annotation = formatIssuedRecord({
      uid: definition.metadata.uid,
      for: held.fingerprint,
      keys,
      digest: issuedDigest(held.data, keys),
      ...(lease
        ? {
            lease: {
              id: lease.id,
              renewable: lease.renewable,
              issuedAt: lease.issuedAt,
              durationSeconds: lease.askedSeconds,
            },
          }
        : {}),
    });
    const base = {
      ok: true as const,
      data: held.data,
      annotation,
      ...(held.issued ? { issued: held.issued } : {}),
    };
    const { namespace, name } = definition.metadata;
    if (held.certificate) {
      const due = certificateDueAt(held.certificate, definition.spec.pki?.renewBeforeMs);
      this.#deps.observer.renewsAt(namespace, name, 'pki', due);
      return {
        ...base,
        nextAt: due,
        status: {
          pki: {
            serialNumber: held.certificate.serialNumber,
            notAfter: iso(held.certificate.notAfter),
            nextRenewal: iso(due),
          },
        },
      };
    }
    if (!lease) throw new Error('issued dynamic credentials without a lease');
    const nextAt = leaseNextAt(lease, definition.spec.dynamic?.renewPercent ?? 67, clock.now());
    this.#deps.observer.renewsAt(namespace, name, 'dynamic', nextAt);
    return { ...base, nextAt, status: { dynamic: leaseStatus(lease, nextAt) } };
  }

  /**
   * What the live Secret holds, taken up after a restart or a change of leader; else why new
   * ones must be issued (the words of the Issued Event).
   */
  async #recover(
    key: string,
    definition: SecretDefinition,
    sources: ProviderSources,
    live: LiveSecret | undefined,
    fingerprint: string,
  ): Promise<Held | string> {
    const { spec, status, metadata } = definition;
    if (!live) return 'first sync';
    const record = parseIssuedRecord(live.annotations[issuedAnnotation]);
    if (!record) return 'the Secret records none that were issued';
    // A record copied from another definition's Secret is not this one's to renew or revoke.
    if (record.uid !== metadata.uid) return 'the Secret records what was issued for another SecretDefinition';
    if (record.for !== fingerprint) return 'the spec asks for different ones';
    const snapshot = await this.#deps.secrets.snapshot(live.namespace, live.name, live.uid);
    if (!snapshot) return 'the Secret was replaced';
    if (issuedDigest(snapshot.data, record.keys) !== record.digest)
      return "the Secret's issued keys were changed or removed";
    const data: Record<string, string> = {};
    for (const key of record.keys) {
      const value = Object.hasOwn(snapshot.data, key) ? snapshot.data[key] : undefined;
      if (typeof value === 'string') Object.defineProperty(data, key, { value, enumerable: true });
    }
    const common = { fingerprint, data, sources, revokeOnDelete: spec.dynamic?.revokeOnDelete ?? false };
    if (spec.pki) {
      const facts = certificateFacts(data, spec.pki);
      if (typeof facts === 'string') return `the certificate in the Secret cannot be kept: ${facts}`;
      return { ...common, engine: 'pki', certificate: facts };
    }
    const recorded = record.lease;
    if (!recorded || !spec.dynamic) return 'the Secret records no lease';
    // A lease id is `<path>/<id>`: one of another path is never renewed or revoked for this definition.
    if (!recorded.id.startsWith(`${spec.dynamic.path}/`))
      return 'the lease recorded in the Secret is not one of spec.dynamic.path';
    // The status says how the last renewal went, when it is about these credentials.
    const lease = recordedLease(recorded, status.dynamic);
    if (this.#deps.clock.now() >= lease.expiresAt - expirySafetyMs)
      return 'the lease of the credentials in the Secret has ended';
    if (this.#revoking.has(lease.id)) return 'the lease recorded in the Secret is being revoked';
    // Renewed by this process from now on; what issued it is told (Vault: the token that did).
    try {
      await sources.adoptLease(lease.id, lease.expiresAt, key);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      return `the lease recorded in the Secret cannot be taken up: ${error.message}`;
    }
    return { ...common, engine: 'dynamic', lease };
  }

  /** Undefined while what is held is good; else why new ones are due, or the renewal's failure. */
  async #due(held: Held, definition: SecretDefinition): Promise<string | Failure | undefined> {
    const now = this.#deps.clock.now();
    if (held.certificate) {
      if (now >= held.certificate.notAfter - expirySafetyMs) return 'the certificate expired';
      const due = certificateDueAt(held.certificate, definition.spec.pki?.renewBeforeMs);
      return now >= due
        ? `the certificate is due for renewal (it ends ${iso(held.certificate.notAfter)})`
        : undefined;
    }
    const lease = held.lease;
    if (!lease) return 'no lease is held';
    if (now >= lease.expiresAt - expirySafetyMs) return 'the lease of the credentials ended';
    // Vault ends a lease with the token that issued it: once nobody renews that token (a new
    // login replaced it, or it was an earlier process's), new credentials come before its end,
    // spread a little by lease so that many do not come at once.
    const endsBy = held.sources.leaseEndsBy(lease.id);
    if (endsBy !== undefined && endsBy < lease.expiresAt) {
      const left = Math.max(0, endsBy - now);
      lease.replaceAt = Math.min(
        lease.replaceAt ?? Infinity,
        endsBy - Math.min(this.#deps.graceMs, left / 2) - spreadOf(lease.id) * (left / 4),
      );
    }
    if (lease.replaceAt !== undefined && now >= lease.replaceAt)
      return 'the lease cannot be renewed for its full length (its max TTL, or the end of the token that issued it, is near)';
    const percent = definition.spec.dynamic?.renewPercent ?? 67;
    if (now < renewAt(lease, percent)) return undefined;
    if (!lease.renewable) return 'the lease is not renewable';
    try {
      const grant = await held.sources.renewLease(lease.id, lease.askedSeconds);
      this.#deps.observer.renewed(true);
      renewed(lease, grant, this.#deps.clock.now(), percent);
      const { namespace, name } = definition.metadata;
      this.#deps.observer.expires(namespace, name, 'dynamic', lease.expiresAt);
      return undefined;
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.#deps.observer.renewed(false);
      if (error.reason === reasons.leaseExpired) return 'Vault no longer knows the lease of the credentials';
      // Failing near its end: new credentials while the old ones still work, rather than none.
      const lastStretch = Math.min(this.#deps.graceMs, (lease.expiresAt - lease.grantedAt) / 4);
      if (now >= lease.expiresAt - lastStretch)
        return `renewing the lease keeps failing (${error.message}) and it ends soon`;
      return {
        reason: reasons.renewFailed,
        message: `renewing the lease of the credentials failed: ${error.message}; the credentials in the Secret stay valid until ${iso(lease.expiresAt)}, and the renewal is tried again with backoff`,
        retry: 'backoff',
        ...(error.detail ? { detail: error.detail } : {}),
      };
    }
  }

  async #issue(
    key: string,
    definition: SecretDefinition,
    sources: ProviderSources,
    fingerprint: string,
    why: string,
  ): Promise<Held | Failure> {
    const { spec } = definition;
    const engine: Engine = spec.pki ? 'pki' : 'dynamic';
    const request = issueRequest(spec);
    let answer;
    try {
      answer = await sources.issue(request, key);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.#deps.observer.issued(engine, false);
      return {
        reason: error.reason,
        message: error.message,
        retry: 'backoff',
        ...(error.detail ? { detail: error.detail } : {}),
      };
    }
    this.#deps.observer.issued(engine, true);
    const common = { fingerprint, sources, revokeOnDelete: spec.dynamic?.revokeOnDelete ?? false };
    if (spec.pki) {
      const data = certificateData(answer.data);
      const facts = typeof data === 'string' ? data : certificateFacts(data, spec.pki);
      if (typeof data === 'string' || typeof facts === 'string')
        return {
          reason: reasons.issueFailed,
          message: `the certificate issued at ${spec.pki.path} cannot be used: ${typeof data === 'string' ? data : (facts as string)}`,
          retry: 'backoff',
        };
      return {
        ...common,
        engine,
        data,
        certificate: facts,
        issued: `issued a new certificate (serial ${facts.serialNumber}, valid until ${iso(facts.notAfter)}): ${why}`,
      };
    }
    const grant = answer.lease;
    if (!grant) {
      return {
        reason: reasons.issueFailed,
        message: `the answer at ${request.path} carries no lease, so it is not dynamic credentials: read a static secret with keysMap or dataFrom`,
        retry: 'none',
      };
    }
    const lease = newLease(grant, this.#deps.clock.now());
    if (grant.durationSeconds < minLeaseSeconds) {
      this.#revokeLater({ ...common, engine, data: {}, lease }, 0);
      return {
        reason: reasons.issueFailed,
        message: `the credentials issued at ${request.path} have a lease of ${grant.durationSeconds}s, too short to write and use (at least ${minLeaseSeconds}s): give the role a longer TTL; the lease was revoked`,
        retry: 'backoff',
      };
    }
    const data = credentialsData(answer.data);
    if ('badKey' in data) {
      this.#revokeLater({ ...common, engine, data: {}, lease }, 0);
      return {
        reason: reasons.invalidValue,
        message: `key "${data.badKey}" of the credentials at ${request.path} is not a valid Secret data key; the lease was revoked`,
        retry: 'none',
      };
    }
    return {
      ...common,
      engine,
      data,
      lease,
      issued: `issued new credentials (a lease of ${grant.durationSeconds}s): ${why}`,
    };
  }

  /** Revokes the lease of `held` after `delayMs`, unless it ends by itself before. */
  #revokeLater(held: Held, delayMs: number): void {
    const lease = held.lease;
    if (!lease || this.#stopped) return;
    const remaining = lease.expiresAt - this.#deps.clock.now();
    if (remaining <= delayMs) return;
    if (delayMs <= 0) {
      void this.#revoke(held);
      return;
    }
    const timer = this.#deps.clock.after(delayMs, () => {
      this.#revoking.delete(lease.id);
      void this.#revoke(held);
    });
    this.#revoking.set(lease.id, timer);
  }

  async #revoke(held: Held): Promise<void> {
    const lease = held.lease;
    if (!lease) return;
    try {
      await held.sources.revokeLease(lease.id);
      this.#deps.observer.revoked(true);
    } catch (error) {
      this.#deps.observer.revoked(false);
      this.#deps.logger.warn('could not revoke a lease; it ends at its own time', {
        leaseEnds: iso(lease.expiresAt),
        error: describeError(error),
      });
    }
  }
}
