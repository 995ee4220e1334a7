// The Vault token's lifecycle as a small state machine, with every timing rule in this file:
//
// - A login happens on first use, and never more than one at a time (callers share it).
// - A renewable token is renewed at about 2/3 of its lease, with jitter so replicas and restarts
//   do not line up. A failed renewal, a token that is not renewable, or a renewal that Vault caps
//   near the token's max TTL leads to a fresh login; the replaced token is revoked.
// - A 403 on a request may mean the token was revoked: the token is checked once (lookup-self,
//   shared by every caller of the moment) and replaced only if it is really gone, so a policy
//   denial costs one lookup, not a login per request.
// - A failed background login is retried with capped exponential backoff while the old token,
//   if any, stays in use until it expires.
// - On stop, the token is revoked, and so is a replaced one, if it is ours: a token given outright
//   (credentials that do not own it) is never revoked, only dropped.

import { backoff, jitter, type Clock, type Random, type Timer } from '../../clock.ts';
import type { Credentials } from './auth.ts';
import { ProviderError } from '../errors.ts';
import { vaultAnswerOf, type VaultApi } from './vault-api.ts';

export type TokenOperation = 'login' | 'renew' | 'lookup' | 'revoke';

export interface TokenObserver {
  loggedIn(method: string): void;
  renewed(): void;
  failed(operation: TokenOperation, error: ProviderError): void;
}

export interface TokenManagerOptions {
  /** This identity's own node-vault client. */
  readonly vault: VaultApi;
  readonly credentials: Credentials;
  readonly clock: Clock;
  readonly random: Random;
  /** The increment asked for at renewal (--vault.renew-ttl-increment). */
  readonly renewIncrementSeconds: number;
  /** A renewed lease shorter than this means the token nears its max TTL (--vault.max-token-ttl). */
  readonly nearExpirySeconds: number;
  readonly observer?: TokenObserver;
  /**
   * While this answers true, a token is not revoked when it is replaced or at stop but left to
   * expire: Vault revokes every lease a token created with the token (dynamic credentials).
   */
  readonly keepToken?: () => boolean;
}

interface HeldToken {
  readonly token: string;
  readonly renewable: boolean;
  /** The lease Vault granted at login: the yardstick for "near max TTL". */
  readonly loginLeaseSeconds: number;
  /** Epoch ms; 0 for a token that never expires. */
  expiresAt: number;
  /** When the token was last known to be valid, epoch ms. */
  verifiedAt: number;
}

const renewFraction = 2 / 3;
const verifyReuseMs = 5_000;
const expirySafetyMs = 1_000;

export class TokenManager {
  readonly #options: TokenManagerOptions;
  #held: HeldToken | undefined;
  #login: Promise<HeldToken> | undefined;
  #verify: Promise<boolean> | undefined;
  #timer: Timer | undefined;
  #loginFailures = 0;
  #generation = 0;
  #lastLoginError: ProviderError | undefined;
  #loginBlockedUntil = 0;
  #stopped = false;

  constructor(options: TokenManagerOptions) {
    this.#options = options;
  }

  /** A token believed valid, logging in first when there is none. */
  async token(): Promise<string> {
    if (this.#stopped) throw stoppedError();
    const held = this.#held;
    if (held && this.#usable(held)) return held.token;
    return (await this.#loginOnce()).token;
  }

  /** Seconds the current token has left: undefined without a token, Infinity if it never expires. */
  remainingSeconds(): number | undefined {
    const held = this.#held;
    if (!held) return undefined;
    if (held.expiresAt === 0) return Number.POSITIVE_INFINITY;
    return Math.max(0, (held.expiresAt - this.#options.clock.now()) / 1000);
  }

  hasValidToken(): boolean {
    return this.#held !== undefined && this.#usable(this.#held);
  }

  /**
   * A request made with `token` was refused with 403. Answers the token to retry with, or
   * undefined when the token is valid and the refusal is a real policy denial.
   */
  async afterForbidden(token: string): Promise<string | undefined> {
    const held = this.#held;
    if (!held || held.token !== token) return this.token();
    if (this.#options.clock.now() - held.verifiedAt < verifyReuseMs) return undefined;
    this.#verify ??= this.#lookup(token).finally(() => (this.#verify = undefined));
    if (await this.#verify) {
      held.verifiedAt = this.#options.clock.now();
      return undefined;
    }
    if (this.#held === held) this.#held = undefined;
    return (await this.#loginOnce()).token;
  }

  /** Which login the current token came from (1, 2, ...; 0 before the first): a new one at each login. */
  generation(): number {
    return this.#generation;
  }

  /** When the current token expires (epoch ms; 0: never), undefined without one. */
  expiresAt(): number | undefined {
    return this.#held?.expiresAt;
  }

  /**
   * Stops renewing and revokes the token, so no lease outlives the operator, unless leases that
   * must live on hang from it (keepToken): it then expires at its own time.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    const held = this.#held;
    this.#held = undefined;
    if (held && held.expiresAt !== 0 && this.#mayRevoke()) await this.#revoke(held.token);
  }

  /** Ours to revoke, and no lease that must live on hangs from it. */
  #mayRevoke(): boolean {
    return this.#options.credentials.ownsToken && !this.#options.keepToken?.();
  }

  #usable(held: HeldToken): boolean {
    return held.expiresAt === 0 || held.expiresAt - expirySafetyMs > this.#options.clock.now();
  }

  #loginOnce(): Promise<HeldToken> {
    this.#login ??= this.#doLogin().finally(() => (this.#login = undefined));
    return this.#login;
  }

  async #doLogin(): Promise<HeldToken> {
    const { credentials, vault, clock } = this.#options;
    // After a failed login, callers get the same answer until the backoff has passed, so a
    // thousand definitions retrying do not become a thousand logins.
    if (this.#lastLoginError && clock.now() < this.#loginBlockedUntil) throw this.#lastLoginError;
    let issued;
    try {
      issued = await credentials.login(vault);
    } catch (error) {
      const failure = asVaultError(error);
      this.#loginFailures += 1;
      this.#lastLoginError = failure;
      this.#loginBlockedUntil =
        clock.now() + backoff(this.#loginFailures, 1_000, 60_000, this.#options.random);
      this.#options.observer?.failed('login', failure);
      throw failure;
    }
    if (this.#stopped) {
      // Stopped while the login was under way: this token must not outlive the stop either.
      if (this.#options.credentials.ownsToken) await this.#revoke(issued.token);
      throw stoppedError();
    }
    const now = clock.now();
    const previous = this.#held;
    const held: HeldToken = {
      token: issued.token,
      renewable: issued.renewable,
      loginLeaseSeconds: issued.leaseSeconds,
      expiresAt: issued.leaseSeconds > 0 ? now + issued.leaseSeconds * 1000 : 0,
      verifiedAt: now,
    };
    this.#held = held;
    this.#generation += 1;
    this.#loginFailures = 0;
    this.#lastLoginError = undefined;
    this.#options.observer?.loggedIn(credentials.method);
    if (
      previous &&
      previous.token !== held.token &&
      previous.expiresAt !== 0 &&
      this.#usable(previous) &&
      this.#mayRevoke()
    ) {
      void this.#revoke(previous.token);
    }
    this.#schedule(held);
    return held;
  }

  #schedule(held: HeldToken): void {
    this.#timer?.cancel();
    if (this.#stopped || held.expiresAt === 0) return;
    const remaining = held.expiresAt - this.#options.clock.now();
    const delay = jitter(remaining * renewFraction, 0.1, this.#options.random);
    this.#timer = this.#options.clock.after(delay, () => void this.#renewOrLogin(held));
  }

  async #renewOrLogin(held: HeldToken): Promise<void> {
    if (this.#stopped || this.#held !== held) return;
    if (held.renewable && (await this.#renew(held))) return;
    try {
      await this.#loginOnce();
    } catch {
      const retryIn = Math.max(this.#loginBlockedUntil - this.#options.clock.now(), 1_000);
      this.#timer = this.#options.clock.after(retryIn, () => void this.#renewOrLogin(this.#held ?? held));
    }
  }

  /** True when the token was renewed for long enough; false when a fresh login is needed. */
  async #renew(held: HeldToken): Promise<boolean> {
    const { vault, clock, renewIncrementSeconds, nearExpirySeconds } = this.#options;
    let body: unknown;
    try {
      body = await vault.renewSelf(held.token, `${renewIncrementSeconds}s`);
    } catch (error) {
      const answer = vaultAnswerOf(error);
      this.#options.observer?.failed(
        'renew',
        answer
          ? new ProviderError(
              'AuthenticationFailed',
              `token renewal answered ${answer.status}`,
              answer.status,
            )
          : asVaultError(error),
      );
      return false;
    }
    const lease = (body as { auth?: { lease_duration?: unknown } } | undefined)?.auth?.lease_duration;
    if (typeof lease !== 'number') {
      this.#options.observer?.failed(
        'renew',
        new ProviderError('AuthenticationFailed', 'token renewal answered with no lease'),
      );
      return false;
    }
    const floor = Math.min(nearExpirySeconds, held.loginLeaseSeconds / 3);
    if (lease < floor) return false;
    const now = clock.now();
    held.expiresAt = now + lease * 1000;
    held.verifiedAt = now;
    this.#options.observer?.renewed();
    this.#schedule(held);
    return true;
  }

  async #lookup(token: string): Promise<boolean> {
    try {
      await this.#options.vault.lookupSelf(token);
      return true;
    } catch (error) {
      // Vault answered: the token is not (or no longer) good.
      if (vaultAnswerOf(error)) return false;
      // Vault cannot be asked: keep the token; the request that failed will say why.
      this.#options.observer?.failed('lookup', asVaultError(error));
      return true;
    }
  }

  async #revoke(token: string): Promise<void> {
    try {
      await this.#options.vault.revokeSelf(token);
    } catch (error) {
      // An answer (a 403 for a token already gone, say) leaves nothing to revoke.
      if (!vaultAnswerOf(error)) this.#options.observer?.failed('revoke', asVaultError(error));
    }
  }
}

function stoppedError(): ProviderError {
  return new ProviderError('VaultUnavailable', 'the Vault token is no longer in use (stopping)');
}

function asVaultError(error: unknown): ProviderError {
  return error instanceof ProviderError
    ? error
    : new ProviderError('VaultUnavailable', error instanceof Error ? error.message : String(error));
}
