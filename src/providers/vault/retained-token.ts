// The token of an earlier process (before a restart, or the previous leader), kept because leases
// it issued live on in Secrets: Vault ends a lease when the token that issued it ends, so this
// token is renewed here, at about two thirds of its TTL, while any of those leases is held, and
// revoked once none is. When Vault renews it for less than asked (its max TTL is near), its end is
// known, and the leases it holds are replaced before it.

import { jitter, type Clock, type Random, type Timer } from '../../clock.ts';
import { vaultAnswerOf, type VaultApi } from './vault-api.ts';

export interface RetainedTokenOptions {
  readonly vault: VaultApi;
  readonly token: string;
  readonly clock: Clock;
  readonly random: Random;
  /** --vault.renew-ttl-increment: what each renewal asks for. */
  readonly renewIncrementSeconds: number;
  /** Whether leases of this token are still held: asked before each renewal. */
  readonly needed: () => boolean;
  /** The token is no longer needed and was revoked, or is gone. */
  readonly ended?: () => void;
}

const renewFraction = 2 / 3;

function seconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

export class RetainedToken {
  readonly #options: RetainedTokenOptions;
  /** When it expires unless renewed (clock ms; 0: never). */
  #expiresAt = 0;
  /** Set once Vault no longer renews it for the full increment: it ends then, whatever happens. */
  #endsBy: number | undefined;
  #timer: Timer | undefined;
  #stopped = false;

  constructor(options: RetainedTokenOptions) {
    this.#options = options;
  }

  /** Looks the token up and starts renewing it; false when Vault no longer knows it. */
  async start(): Promise<boolean> {
    const { vault, token, clock } = this.#options;
    let body: unknown;
    try {
      body = await vault.lookupSelf(token);
    } catch (error) {
      if (vaultAnswerOf(error)?.status === 403) return false;
      throw error;
    }
    const data = (body as { data?: { ttl?: unknown; renewable?: unknown } } | undefined)?.data;
    const ttl = seconds(data?.ttl);
    if (ttl === undefined) return false;
    const now = clock.now();
    this.#expiresAt = ttl === 0 ? 0 : now + ttl * 1000;
    if (ttl !== 0 && data?.renewable !== true) this.#endsBy = this.#expiresAt;
    this.#schedule();
    return true;
  }

  /** When it ends at the latest; undefined while it is renewed for the full increment (or never expires). */
  endsBy(): number | undefined {
    return this.#endsBy;
  }

  /** Stops renewing; revokes the token when no lease of it is held any more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    if (!this.#options.needed()) await this.#revoke();
  }

  #schedule(): void {
    this.#timer?.cancel();
    if (this.#stopped || this.#expiresAt === 0 || this.#endsBy !== undefined) return;
    const { clock, random } = this.#options;
    const delay = jitter((this.#expiresAt - clock.now()) * renewFraction, 0.1, random);
    this.#timer = clock.after(delay, () => void this.#renew());
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    if (!this.#options.needed()) {
      await this.#revoke();
      return;
    }
    const { vault, token, clock, renewIncrementSeconds } = this.#options;
    try {
      const body = await vault.renewSelf(token, `${renewIncrementSeconds}s`);
      const lease = seconds(
        (body as { auth?: { lease_duration?: unknown } } | undefined)?.auth?.lease_duration,
      );
      if (lease === undefined) throw new Error('no lease');
      this.#expiresAt = clock.now() + lease * 1000;
      if (lease < renewIncrementSeconds) this.#endsBy = this.#expiresAt;
    } catch {
      // Revoked, or Vault unreachable: it ends at the time last known at the latest.
      this.#endsBy = this.#expiresAt;
    }
    this.#schedule();
  }

  async #revoke(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    try {
      await this.#options.vault.revokeSelf(this.#options.token);
    } catch {
      // Gone already, or Vault unreachable: it expires at its own time.
    }
    this.#options.ended?.();
  }
}
