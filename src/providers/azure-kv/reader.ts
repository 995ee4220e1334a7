// Reading Azure Key Vault secrets, as the original did and a little more: a path names a secret,
// whose whole value is what a key reads; a secret stored with content type application/json whose
// value is a JSON object gives a field per key instead; a version pins one version of the secret.
// Every read waits for the rate limit, which slows down while Key Vault throttles (429) or
// struggles; the SDK waits out Retry-After itself, within a deadline for the whole read. Failures
// carry the same reasons as Vault's, with messages that never hold a value.

import type { SourceVersion } from '../../api/types.ts';
import { reasons } from '../../api/conditions.ts';
import type { Clock } from '../../clock.ts';
import type { AdaptiveRate } from '../../rate-limit/adaptive-rate.ts';
import type { RateLimiter, RequestPriority } from '../../rate-limit/rate-limiter.ts';
import { ProviderError } from '../errors.ts';
import { wholeValue, type ResolvedPath, type SecretData } from '../provider.ts';

/** The one call the reader makes: @azure/keyvault-secrets' SecretClient.getSecret, narrowed. */
export interface SecretFetcher {
  getSecret(
    name: string,
    options: { version?: string; abortSignal?: AbortSignal; requestOptions?: { timeout?: number } },
  ): Promise<{
    readonly value?: string | undefined;
    readonly properties?: { readonly contentType?: string | undefined };
  }>;
}

/** What an SDK failure looks like: a RestError's status and code, or a credential error's name. */
interface SdkFailure {
  readonly name?: unknown;
  readonly statusCode?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
}

export interface AzureKvReaderOptions {
  readonly fetcher: SecretFetcher;
  readonly limiter: RateLimiter;
  /** Learns from each answer whether Key Vault is struggling, and slows the limiter down. */
  readonly rate: AdaptiveRate;
  readonly clock: Clock;
  /** The vault, for messages: its name. */
  readonly vaultName: string;
  readonly timeoutMs: number;
  /** The signal reads run under (the leadership term). */
  readonly signal?: () => AbortSignal | undefined;
  /** Whether Key Vault took the operator's identity: false on a login error, true on an answer. */
  readonly authenticated?: (ok: boolean) => void;
  /** The identity library's own words on a failed login: for the operator's debug log only. */
  readonly debug?: (message: string, fields: Record<string, unknown>) => void;
}

/** Statuses that say Key Vault is overloaded, not that a secret is broken. */
const overloaded = new Set([429, 502, 503, 504]);
const slowAnswerMs = 2_000;
const secretName = /^[0-9a-zA-Z-]{1,127}$/;
/** A read may take this long in all, the SDK's retries and Retry-After waits included. */
const readDeadlineMs = 30_000;
/** Names of @azure/identity's errors: no token could be had. */
const loginErrors = new Set([
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
  'CredentialUnavailableError',
]);

/**
 * The data a secret gives: its fields when it was stored as JSON (content type application/json)
 * and holds an object; else the whole value, whatever key asks for it, as in the original.
 */
export function secretData(value: string, contentType?: string): SecretData {
  if (/^application\/json\s*(;|$)/i.test(contentType ?? '')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        // No field can be named "" in a definition; dropped, it cannot pass for a whole value.
        return Object.fromEntries(Object.entries(parsed).filter(([key]) => key !== wholeValue));
      }
    } catch {
      // Not JSON after all: the whole value.
    }
  }
  return { [wholeValue]: value };
}

export class AzureKvReader {
  readonly #options: AzureKvReaderOptions;

  constructor(options: AzureKvReaderOptions) {
    this.#options = options;
  }

  /** A Key Vault secret has no mount: the name is the one spelling, checked here. */
  resolve(path: string): Promise<ResolvedPath> {
    if (!secretName.test(path)) {
      return Promise.reject(
        new ProviderError(
          reasons.invalidSpec,
          `"${path}" is not an Azure Key Vault secret name: 1 to 127 letters, digits and "-"`,
        ),
      );
    }
    return Promise.resolve({ path, apiPath: path, mount: '', version: 1 });
  }

  async read(
    path: string,
    version?: SourceVersion,
    { priority }: { priority?: RequestPriority } = {},
  ): Promise<SecretData> {
    const { fetcher, limiter, rate, clock, vaultName, timeoutMs } = this.#options;
    if (version !== undefined && typeof version !== 'string') {
      throw new ProviderError(
        reasons.invalidSpec,
        `an Azure Key Vault version is a version id; ${version} is not`,
      );
    }
    const what = `${version === undefined ? '' : `version ${version} of `}Key Vault secret ${path} in ${vaultName}`;
    await limiter.take(priority);
    const term = this.#options.signal?.();
    term?.throwIfAborted();
    const deadline = AbortSignal.timeout(readDeadlineMs);
    const started = clock.monotonic();
    try {
      const secret = await fetcher.getSecret(path, {
        ...(version === undefined ? {} : { version }),
        abortSignal: term ? AbortSignal.any([term, deadline]) : deadline,
        requestOptions: { timeout: timeoutMs },
      });
      if (clock.monotonic() - started > slowAnswerMs) rate.congested();
      else rate.healthy();
      this.#options.authenticated?.(true);
      if (typeof secret.value !== 'string') {
        throw new ProviderError(reasons.pathNotFound, `${what} has no value`);
      }
      return secretData(secret.value, secret.properties?.contentType);
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw this.#failure(error as SdkFailure, what, term, deadline);
    }
  }

  #failure(
    error: SdkFailure,
    what: string,
    term: AbortSignal | undefined,
    deadline: AbortSignal,
  ): ProviderError {
    const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
    const code = typeof error.code === 'string' ? error.code : undefined;
    if (term?.aborted)
      return new ProviderError(reasons.providerUnavailable, `reading ${what} was called off`);
    if (deadline.aborted) {
      this.#options.rate.congested();
      return new ProviderError(
        reasons.providerUnavailable,
        `Key Vault did not serve ${what} within ${readDeadlineMs / 1000} s (retries and Retry-After waits included)`,
      );
    }
    if (typeof error.name === 'string' && loginErrors.has(error.name)) {
      this.#options.authenticated?.(false);
      // Status and Events are read by the namespace's users: Entra's error code only; the
      // identity library's whole text (tenant, client, trace IDs) goes to the debug log.
      const aadsts = typeof error.message === 'string' ? /AADSTS\d+/.exec(error.message)?.[0] : undefined;
      this.#options.debug?.('Azure login failed', { error: oneLine(error.message) });
      return new ProviderError(
        reasons.authenticationFailed,
        `the operator could not get a Microsoft Entra token to read ${what}${aadsts ? ` (${aadsts})` : ''}; see the operator's log`,
      );
    }
    if (status === undefined || overloaded.has(status)) this.#options.rate.congested();
    switch (status) {
      case 404:
        return new ProviderError(reasons.pathNotFound, `${what} was not found (${code ?? '404'})`, 404);
      case 403:
        return new ProviderError(
          reasons.forbidden,
          `the operator's identity may not read ${what} (${code ?? '403'}); grant it the "get" permission on secrets (Key Vault Secrets User)`,
          403,
        );
      case 401:
        this.#options.authenticated?.(false);
        return new ProviderError(
          reasons.authenticationFailed,
          `Key Vault refused the operator's token reading ${what}`,
          401,
        );
      case undefined:
        return new ProviderError(
          reasons.providerUnavailable,
          `no answer from Key Vault reading ${what}: ${oneLine(error.message)}`,
        );
      default:
        return new ProviderError(
          reasons.providerUnavailable,
          `Key Vault answered ${status}${code ? ` (${code})` : ''} reading ${what}`,
          status,
        );
    }
  }
}

function oneLine(message: unknown): string {
  return (typeof message === 'string' ? message : '').replace(/\s+/g, ' ').trim().slice(0, 300);
}
