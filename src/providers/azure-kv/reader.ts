// Reading Azure Key Vault secrets, as the original did and a little more: a path names a secret,
// whose whole value is what a key reads; when the value is a JSON object, each key reads a field
// of it; a version pins one version of the secret. Every read waits for the rate limit, which
// slows down while Key Vault throttles (429) or struggles; the SDK waits out Retry-After itself.
// Failures carry the same reasons as Vault's, with messages that never hold a value.

import type { SourceVersion } from '../../api/types.ts';
import { reasons } from '../../api/conditions.ts';
import type { Clock } from '../../clock.ts';
import type { RateLimiter, RequestPriority } from '../../rate-limiter.ts';
import { ProviderError } from '../errors.ts';
import { wholeValue, type ResolvedPath, type SecretData } from '../provider.ts';

/** The one call the reader makes: @azure/keyvault-secrets' SecretClient.getSecret, narrowed. */
export interface SecretFetcher {
  getSecret(
    name: string,
    options: { version?: string; abortSignal?: AbortSignal; requestOptions?: { timeout?: number } },
  ): Promise<{ readonly value?: string | undefined }>;
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
  readonly clock: Clock;
  /** The vault, for messages: its name. */
  readonly vaultName: string;
  readonly timeoutMs: number;
  /** The signal reads run under (the leadership term). */
  readonly signal?: () => AbortSignal | undefined;
  /** A token could not be had (a login error, in the original's metrics). */
  readonly loginFailed?: () => void;
}

/** Statuses that say Key Vault is overloaded, not that a secret is broken. */
const overloaded = new Set([429, 502, 503, 504]);
const slowAnswerMs = 2_000;
const secretName = /^[0-9a-zA-Z-]{1,127}$/;

/** The data a secret's value gives: its fields when it is a JSON object, else the whole value. */
export function secretData(value: string): SecretData {
  if (value.trimStart().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as SecretData;
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
    const { fetcher, limiter, clock, vaultName, timeoutMs } = this.#options;
    if (version !== undefined && typeof version !== 'string') {
      throw new ProviderError(
        reasons.invalidSpec,
        `an Azure Key Vault version is a version id; ${version} is not`,
      );
    }
    const what = `${version === undefined ? '' : `version ${version} of `}Key Vault secret ${path} in ${vaultName}`;
    await limiter.take(priority);
    const signal = this.#options.signal?.();
    signal?.throwIfAborted();
    const started = clock.monotonic();
    try {
      const secret = await fetcher.getSecret(path, {
        ...(version === undefined ? {} : { version }),
        ...(signal ? { abortSignal: signal } : {}),
        requestOptions: { timeout: timeoutMs },
      });
      if (clock.monotonic() - started > slowAnswerMs) limiter.congested();
      else limiter.healthy();
      if (typeof secret.value !== 'string') {
        throw new ProviderError(reasons.pathNotFound, `${what} has no value`);
      }
      return secretData(secret.value);
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw this.#failure(error as SdkFailure, what, signal);
    }
  }

  #failure(error: SdkFailure, what: string, signal: AbortSignal | undefined): ProviderError {
    const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
    const code = typeof error.code === 'string' ? error.code : undefined;
    if (signal?.aborted)
      return new ProviderError(reasons.providerUnavailable, `reading ${what} was called off`);
    if (error.name === 'AuthenticationError' || error.name === 'CredentialUnavailableError') {
      this.#options.loginFailed?.();
      // The identity libraries' messages name the tenant, client and Entra's error, never a secret.
      return new ProviderError(
        reasons.authenticationFailed,
        `could not get a Microsoft Entra token to read ${what}: ${oneLine(error.message)}`,
      );
    }
    if (status === undefined || overloaded.has(status)) this.#options.limiter.congested();
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
        this.#options.loginFailed?.();
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
