// Every Vault request passes here: the circuit breaker may refuse it at once, the rate limiter may
// hold it back (and learns from the answer whether Vault is struggling), and the observer sees its
// operation, outcome and duration for metrics.

import type { Clock } from '../../clock.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { ProviderError } from '../errors.ts';
import type { AdaptiveRate } from '../../rate-limit/adaptive-rate.ts';
import type { RateLimiter } from '../../rate-limit/rate-limiter.ts';
import { requestTarget, type VaultOperation, type VaultTransport } from './transport.ts';

/** Requests answered by a secrets engine's backend rather than by Vault alone. */
const engineOperations: ReadonlySet<string> = new Set(['issue', 'lease-renew', 'lease-revoke']);

export interface RequestObserver {
  /** `outcome` is the HTTP status as text, or "error" when Vault did not answer. */
  requested(operation: VaultOperation, outcome: string, seconds: number): void;
}

/** An answer slower than this says Vault is struggling: the rate limiter backs off. */
export const slowAnswerSeconds = 2;

/**
 * Statuses that say Vault (or what stands before it) is overloaded, not that one path is broken:
 * a rate-limit quota, a gateway that got no answer, a sealed or standby node. A 500 is usually
 * one path's backend failing, and must not slow every tenant down.
 */
const overloaded = new Set([429, 502, 503, 504]);

export function guardedTransport(
  inner: VaultTransport,
  guards: {
    limiter: RateLimiter;
    /** Learns from each answer whether Vault is struggling, and slows the limiter down. */
    rate: AdaptiveRate;
    breaker: CircuitBreaker;
    clock: Clock;
    observer?: RequestObserver;
  },
): VaultTransport {
  return {
    async send(call) {
      // A path that could not be sent is refused here, before it counts against Vault's health.
      requestTarget('', call);
      const probe = guards.breaker.admit();
      await guards.limiter.take(call.priority);
      const started = guards.clock.now();
      try {
        const reply = await inner.send(call);
        const seconds = (guards.clock.now() - started) / 1000;
        guards.observer?.requested(call.operation, String(reply.status), seconds);
        if (overloaded.has(reply.status) || seconds > slowAnswerSeconds) {
          guards.rate.congested();
        } else {
          guards.rate.healthy();
        }
        // A sealed or failing Vault answers 5xx: as good as no answer for the breaker. An engine
        // that issues answers 500 when what stands behind it (a database) fails: Vault itself
        // answered, so one tenant's broken role does not stop every read (sealed is still 503).
        const engineFailed = engineOperations.has(call.operation) && reply.status !== 503;
        if (reply.status >= 500 && !engineFailed) {
          guards.breaker.failed(
            new ProviderError('VaultUnavailable', `Vault answered ${reply.status}`, reply.status),
            probe,
          );
        } else {
          guards.breaker.succeeded();
        }
        return reply;
      } catch (error) {
        guards.observer?.requested(call.operation, 'error', (guards.clock.now() - started) / 1000);
        const failure =
          error instanceof ProviderError ? error : new ProviderError('VaultUnavailable', String(error));
        // The operator called it off (shutdown, lost leadership): says nothing of Vault's health.
        if (call.signal?.aborted) {
          if (probe) guards.breaker.abandoned();
          throw failure;
        }
        // Only no answer counts against Vault's health; an answer refused here (too large) does
        // not, so one namespace's oversized secret cannot open the breaker for everyone.
        if (failure.status === undefined) {
          guards.breaker.failed(failure, probe);
          guards.rate.congested();
        } else {
          guards.breaker.succeeded();
        }
        throw failure;
      }
    },
  };
}
