// Issuing with one Vault identity: a PKI role's issue endpoint or a dynamic engine's creds path
// (each call a new certificate or user, so never shared and never retried blindly), and the
// renewal and revocation of the leases they carry. It remembers which leases its identity holds
// until they end: while any does, the identity's token must not be revoked (Vault revokes every
// lease a token created along with the token).

import { reasons } from '../../api/conditions.ts';
import { vaultPathProblem } from '../../api/vault-path.ts';
import type { Clock, Random } from '../../clock.ts';
import { describeError } from '../../describe-error.ts';
import { RetainedToken } from './retained-token.ts';
import { ProviderError } from '../errors.ts';
import type { IssuedSecret, IssueRequest, LeaseGrant, SecretData } from '../provider.ts';
import { vaultErrorMessages } from './error-messages.ts';
import type { TokenManager } from './token-manager.ts';
import { vaultAnswerOf, type VaultApi } from './vault-api.ts';

export interface IssuerOptions {
  readonly vault: VaultApi;
  readonly tokens: TokenManager;
  readonly clock: Clock;
  /** --vault.renew-ttl-increment: the TTL a token has after each renewal. */
  readonly renewIncrementSeconds: number;
  readonly random: Random;
  /** Keeps the token that issued live leases for the next process (--lease-token-secret); none: off. */
  readonly store?: IdentityTokenStore;
  readonly logger?: { warn(message: string, fields?: Record<string, unknown>): void };
  /** The signal requests run under, read at each request: aborted, they stop (lost leadership). */
  readonly signal?: () => AbortSignal | undefined;
}

/** A lease id as Vault makes them: `<path>/<id>`, path-safe, never empty. */
function checkedLeaseId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 2048 && vaultPathProblem(value) === undefined
    ? value
    : undefined;
}

/** A lease id to put in a request path: one that is not path-safe is refused before anything is sent. */
function checkedOrRefused(leaseId: string): void {
  if (checkedLeaseId(leaseId) === undefined)
    throw new ProviderError(
      reasons.invalidSpec,
      'a lease id that is not a well-formed Vault path was refused (nothing was sent)',
    );
}

function grantOf(body: unknown): LeaseGrant | undefined {
  const answer = body as { lease_duration?: unknown; renewable?: unknown } | null | undefined;
  const duration = answer?.lease_duration;
  if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 0) return undefined;
  return { durationSeconds: duration, renewable: answer?.renewable === true };
}

/** Vault says a lease is unknown with a 400 (or 404) whose words name it: invalid, not found, expired. */
function leaseGone(status: number, body: unknown): boolean {
  if (status === 404) return true;
  return (
    status === 400 && /lease (not found|is expired|expired)|invalid lease/i.test(vaultErrorMessages(body))
  );
}

/** The generation of a lease taken up from an earlier process: no token of this one is its parent. */
const adopted = -1;
/** The generation of a lease taken up with the earlier process's token, kept and renewed here. */
const retained = -2;

/** Where this identity's lease-issuing token is kept across a restart (the operator's Secret). */
export interface IdentityTokenStore {
  read(): Promise<string | undefined>;
  keep(token: string): Promise<void>;
  forget(): Promise<void>;
}

interface HeldLease {
  /** When the lease ends (clock ms). */
  endsAt: number;
  /** The login whose token issued it (TokenManager.generation). */
  readonly generation: number;
  /** When that token ends, as last seen while it was current (clock ms; 0: never). */
  parentEndsAt: number;
  /** The definition (namespace/name) whose Secret holds it. */
  readonly user: string;
}

export class VaultIssuer {
  readonly #options: IssuerOptions;
  /** The leases this identity's tokens are the parents of, by id. */
  readonly #leases = new Map<string, HeldLease>();
  /** The login generation whose token is kept in the store. */
  #keptGeneration = 0;
  /** The earlier process's token, taken from the store at the first lease taken up. */
  #retained: Promise<RetainedToken | undefined> | undefined;
  #retainedNow: RetainedToken | undefined;

  constructor(options: IssuerOptions) {
    this.#options = options;
  }

  /** Whether a lease this identity's tokens issued may still be alive: its token must then outlive it. */
  holdsLeases(): boolean {
    return this.#alive().some((lease) => lease.generation > 0);
  }

  /** Whether this identity issued or took up the lease, and it may still be alive. */
  knows(leaseId: string): boolean {
    return this.#alive().length > 0 && this.#leases.has(leaseId);
  }

  /** When the last lease this identity renews or revokes ends (clock ms); undefined when none lives. */
  leasesEndAt(): number | undefined {
    const alive = this.#alive();
    return alive.length === 0 ? undefined : Math.max(...alive.map((lease) => lease.endsAt));
  }

  /**
   * Takes up a lease issued by a token of an earlier process (found in the Secret of `user` after
   * a restart), ending at `endsAt` (clock ms). That token is renewed by nobody now, and Vault ends
   * the lease with it, at a time no one here knows: estimated as a quarter of the shorter of a
   * fresh token's TTL and the TTL a renewal gives (--vault.renew-ttl-increment), from now. A token
   * is renewed at about two thirds of its TTL, so the one left behind had at least a third of that
   * when its process stopped.
   */
  async adopt(leaseId: string, endsAt: number, user: string): Promise<void> {
    const { tokens, clock, renewIncrementSeconds } = this.#options;
    // The earlier process's token, kept for this: renewed here while its leases are held.
    const kept = await this.#retainedToken();
    if (kept) {
      this.#leases.set(leaseId, { endsAt, generation: retained, parentEndsAt: 0, user });
      return;
    }
    // A token of this process's own, to measure by; without one (no login yet) nothing is known.
    await tokens.token().catch(() => undefined);
    const now = clock.now();
    const tokenEnds = tokens.expiresAt();
    const ttl = tokenEnds === undefined ? renewIncrementSeconds * 1000 : Math.max(0, tokenEnds - now);
    const parentEndsAt = tokenEnds === 0 ? 0 : now + Math.min(ttl, renewIncrementSeconds * 1000) / 4;
    this.#leases.set(leaseId, { endsAt, generation: adopted, parentEndsAt, user });
  }

  /** Stops renewing a kept token of an earlier process (revoked if no lease of it is held). */
  async stop(): Promise<void> {
    await this.#retainedNow?.stop();
  }

  /** The earlier process's token from the store, looked up and renewed; once per process. */
  #retainedToken(): Promise<RetainedToken | undefined> {
    const { store } = this.#options;
    if (!store) return Promise.resolve(undefined);
    this.#retained ??= (async () => {
      const token = await store.read().catch((error: unknown) => {
        this.#options.logger?.warn(
          'could not read the kept Vault token; leases taken up are replaced before theirs ends',
          {
            error: describeError(error),
          },
        );
        return undefined;
      });
      if (token === undefined) return undefined;
      const kept = new RetainedToken({
        vault: this.#options.vault,
        token,
        clock: this.#options.clock,
        random: this.#options.random,
        renewIncrementSeconds: this.#options.renewIncrementSeconds,
        needed: () => this.#alive().some((lease) => lease.generation === retained),
        ended: () => {
          // Forgotten unless a token of this process is kept in its place already.
          if (this.#keptGeneration === 0) void store.forget().catch(() => undefined);
        },
      });
      const alive = await kept.start().catch(() => false);
      if (!alive) return undefined;
      this.#retainedNow = kept;
      return kept;
    })();
    return this.#retained;
  }

  /**
   * When the lease will end at the latest whatever renewals say, because the token that issued it
   * is renewed by nobody now (replaced by a new login, or left by an earlier process); undefined
   * while its token is the current one, or tokens never expire.
   */
  leaseEndsBy(leaseId: string): number | undefined {
    const held = this.#leases.get(leaseId);
    if (held?.generation === retained) return this.#retainedNow?.endsBy();
    if (!held || held.generation === this.#options.tokens.generation() || held.parentEndsAt === 0)
      return undefined;
    return held.parentEndsAt;
  }

  #alive(): HeldLease[] {
    const now = this.#options.clock.now();
    for (const [id, lease] of this.#leases) if (lease.endsAt <= now) this.#leases.delete(id);
    return [...this.#leases.values()];
  }

  /** Issues for `user` (namespace/name): the lease, if any, is remembered as theirs. */
  async issue(request: IssueRequest, user: string): Promise<IssuedSecret> {
    const problem = vaultPathProblem(request.path);
    if (problem)
      throw new ProviderError(
        reasons.invalidSpec,
        `the Vault path ${JSON.stringify(request.path)} ${problem}`,
      );
    const segments = request.path.split('/');
    let body: unknown;
    let parent = '';
    try {
      body = await this.#withToken((token, signal) => {
        parent = token;
        return request.method === 'POST'
          ? this.#options.vault.write(segments, request.body ?? {}, {
              token,
              operation: 'issue',
              ...(signal ? { signal } : {}),
            })
          : this.#options.vault.read(segments, { token, operation: 'issue', ...(signal ? { signal } : {}) });
      });
    } catch (error) {
      const answer = vaultAnswerOf(error);
      if (!answer) throw error;
      // A database engine's words can quote the statement that creates the user, password and all.
      throw this.#issueFailure(
        request.path,
        answer.status,
        request.engine === 'pki' ? answer.body : undefined,
      );
    }
    const data = (body as { data?: unknown } | null | undefined)?.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new ProviderError(reasons.issueFailed, `Vault's answer at ${request.path} holds no data`);
    }
    const leaseId = (body as { lease_id?: unknown }).lease_id;
    const grant = grantOf(body);
    if (leaseId === undefined || leaseId === '' || grant === undefined) return { data: data as SecretData };
    const id = checkedLeaseId(leaseId);
    if (id === undefined)
      throw new ProviderError(
        reasons.issueFailed,
        `Vault's answer at ${request.path} has a malformed lease id`,
      );
    const { tokens, clock } = this.#options;
    const generation = tokens.generation();
    this.#leases.set(id, {
      endsAt: clock.now() + grant.durationSeconds * 1000,
      generation,
      parentEndsAt: tokens.expiresAt() ?? 0,
      user,
    });
    await this.#keep(parent, generation);
    return { data: data as SecretData, lease: { id, ...grant } };
  }

  /** Keeps the token that issued a lease for the next process, once per login. */
  async #keep(token: string, generation: number): Promise<void> {
    const { store, logger } = this.#options;
    if (!store || this.#keptGeneration === generation) return;
    try {
      await store.keep(token);
      this.#keptGeneration = generation;
    } catch (error) {
      logger?.warn('could not keep the Vault token that issued leases; after a restart they are replaced', {
        error: describeError(error),
      });
    }
  }

  async renewLease(leaseId: string, incrementSeconds: number): Promise<LeaseGrant> {
    checkedOrRefused(leaseId);
    let body: unknown;
    try {
      body = await this.#withToken((token, signal) =>
        this.#options.vault.renewLease(token, leaseId, incrementSeconds, signal),
      );
    } catch (error) {
      const answer = vaultAnswerOf(error);
      if (!answer) throw error;
      if (leaseGone(answer.status, answer.body)) {
        this.#leases.delete(leaseId);
        throw new ProviderError(
          reasons.leaseExpired,
          'Vault no longer knows the lease of these credentials (expired or revoked)',
          answer.status,
        );
      }
      if (answer.status === 403)
        throw new ProviderError(
          reasons.forbidden,
          'the Vault policy does not allow renewing leases (sys/leases/renew, update)',
          403,
        );
      // Vault's words are left out: for a lease they can name the lease or the database user.
      throw new ProviderError(
        reasons.vaultUnavailable,
        `Vault answered ${answer.status} to a lease renewal`,
        answer.status,
      );
    }
    const grant = grantOf(body);
    if (!grant)
      throw new ProviderError(reasons.vaultUnavailable, "Vault's answer to a lease renewal has no duration");
    return this.#bounded(leaseId, grant);
  }

  /**
   * A renewal as long as the lease can really live: Vault revokes a lease with the token that
   * issued it, so once that token has been replaced by a new login (and is no longer renewed),
   * the lease ends when it does, whatever the renewal said. Answered as a shorter grant, so the
   * caller issues new credentials (with the current token) in time.
   */
  #bounded(leaseId: string, grant: LeaseGrant): LeaseGrant {
    const { tokens, clock } = this.#options;
    const now = clock.now();
    const held = this.#leases.get(leaseId);
    const leaseEnd = now + grant.durationSeconds * 1000;
    if (!held) return grant;
    if (held.generation === retained) {
      const endsBy = this.#retainedNow?.endsBy();
      held.parentEndsAt = endsBy ?? 0;
    }
    // The token that issued it is the current one, renewed as long as the operator runs.
    if (
      held.generation === tokens.generation() ||
      (held.generation === retained && held.parentEndsAt === 0)
    ) {
      held.parentEndsAt = tokens.expiresAt() ?? held.parentEndsAt;
      held.endsAt = leaseEnd;
      return grant;
    }
    const end = held.parentEndsAt === 0 ? leaseEnd : Math.min(leaseEnd, held.parentEndsAt);
    held.endsAt = end;
    return end === leaseEnd
      ? grant
      : { ...grant, durationSeconds: Math.max(0, Math.floor((end - now) / 1000)) };
  }

  /**
   * The token was replaced by a new login (its max TTL was near): it is renewed by nobody now and
   * ends soon, and Vault ends the leases it issued with it. Answers the definitions whose Secrets
   * hold those leases, so that new credentials replace them first.
   */
  tokenReplaced(): string[] {
    const current = this.#options.tokens.generation();
    return this.#alive()
      .filter((lease) => lease.generation > 0 && lease.generation < current)
      .map((lease) => lease.user);
  }

  async revokeLease(leaseId: string): Promise<void> {
    checkedOrRefused(leaseId);
    try {
      await this.#withToken((token, signal) => this.#options.vault.revokeLease(token, leaseId, signal));
    } catch (error) {
      const answer = vaultAnswerOf(error);
      if (!answer) throw error;
      if (!leaseGone(answer.status, answer.body)) {
        throw new ProviderError(
          answer.status === 403 ? reasons.forbidden : reasons.vaultUnavailable,
          answer.status === 403
            ? 'the Vault policy does not allow revoking leases (sys/leases/revoke, update)'
            : `Vault answered ${answer.status} to a lease revocation`,
          answer.status,
        );
      }
    }
    this.#leases.delete(leaseId);
  }

  #issueFailure(path: string, status: number, body: unknown): ProviderError {
    const detail = vaultErrorMessages(body);
    switch (status) {
      case 403:
        return new ProviderError(
          reasons.forbidden,
          `the Vault policy does not allow issuing at ${path}`,
          403,
        );
      case 404:
        return new ProviderError(
          reasons.issueFailed,
          `nothing at Vault path ${path} issues certificates or credentials (no such role or engine)`,
          404,
          detail,
        );
      case 400:
        return new ProviderError(
          reasons.issueFailed,
          `Vault refused to issue at ${path} (400): the role does not allow what the definition asks (names, TTL or parameters); the operator log has Vault's words`,
          400,
          detail,
        );
      default:
        return new ProviderError(
          reasons.vaultUnavailable,
          status === 503
            ? `Vault is sealed or unavailable (503) issuing at ${path}`
            : `Vault answered ${status} issuing at ${path}`,
          status,
          detail,
        );
    }
  }

  /** Calls with the current token; after a 403 the token is checked and the call made once more if it was replaced. */
  async #withToken<T>(call: (token: string, signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const { tokens } = this.#options;
    const signal = this.#options.signal?.();
    const token = await tokens.token();
    try {
      return await call(token, signal);
    } catch (error) {
      if (vaultAnswerOf(error)?.status !== 403) throw error;
      const replacement = await tokens.afterForbidden(token);
      if (replacement === undefined) throw error;
      return call(replacement, signal);
    }
  }
}
