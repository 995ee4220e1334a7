// The ways the operator proves who it is to Vault. Each returns a fresh token with its lease;
// credentials held in files are read again at every login, so rotated secret-ids and projected
// service-account tokens are picked up without a restart.

import { ProviderError } from '../errors.ts';
import { vaultErrorMessages } from './error-messages.ts';
import { vaultAnswerOf, type VaultApi } from './vault-api.ts';

/** Where what Vault said can be read, when it said anything: never in the message itself. */
function logged(said: string): string {
  return said ? '; what Vault said is in the operator log' : '; Vault gave no reason';
}

export interface IssuedToken {
  readonly token: string;
  /** Seconds the token lives from now; 0 for a token that never expires. */
  readonly leaseSeconds: number;
  readonly renewable: boolean;
}

export interface Credentials {
  /** For logs and metrics: approle, kubernetes or token. */
  readonly method: string;
  /**
   * Whether the tokens it returns are this process's to revoke: a login's are; a token given
   * outright (--vault.token, --vault.token-file) belongs to whoever gave it, who may still use it.
   */
  readonly ownsToken: boolean;
  login(vault: VaultApi): Promise<IssuedToken>;
}

/** A secret read on demand (from a flag value or a file), never stored longer than a login. */
export type SecretSource = () => Promise<string>;

function authBlock(body: unknown): IssuedToken | undefined {
  const auth = (body as { auth?: unknown } | null | undefined)?.auth as Record<string, unknown> | undefined;
  if (!auth || typeof auth['client_token'] !== 'string' || auth['client_token'] === '') return undefined;
  return {
    token: auth['client_token'],
    leaseSeconds: typeof auth['lease_duration'] === 'number' ? auth['lease_duration'] : 0,
    renewable: auth['renewable'] === true,
  };
}

/** A login's answer as a token, or the ProviderError its refusal means. */
async function loggedIn(mount: string, method: string, login: Promise<unknown>): Promise<IssuedToken> {
  let body: unknown;
  try {
    body = await login;
  } catch (error) {
    const answer = vaultAnswerOf(error);
    if (!answer) throw error;
    const said = vaultErrorMessages(answer.body);
    if (answer.status >= 500) {
      throw new ProviderError(
        'VaultUnavailable',
        `Vault answered ${answer.status} to the ${method} login at auth/${mount}`,
        answer.status,
        said,
      );
    }
    throw new ProviderError(
      'AuthenticationFailed',
      `${method} login at auth/${mount} was refused (${answer.status})${logged(said)}`,
      answer.status,
      said,
    );
  }
  const issued = authBlock(body);
  if (!issued) {
    throw new ProviderError('AuthenticationFailed', `${method} login at auth/${mount} gave no token`);
  }
  return issued;
}

export function appRoleCredentials(options: {
  mount: string;
  roleId: SecretSource;
  secretId: SecretSource;
}): Credentials {
  return {
    method: 'approle',
    ownsToken: true,
    async login(vault) {
      const [roleId, secretId] = await Promise.all([options.roleId(), options.secretId()]);
      return loggedIn(options.mount, 'approle', vault.approleLogin(options.mount, roleId, secretId));
    },
  };
}

export function kubernetesCredentials(options: {
  mount: string;
  role: string;
  jwt: SecretSource;
}): Credentials {
  return {
    method: 'kubernetes',
    ownsToken: true,
    async login(vault) {
      const jwt = await options.jwt();
      return loggedIn(options.mount, 'kubernetes', vault.kubernetesLogin(options.mount, options.role, jwt));
    },
  };
}

/** A token given outright (development and tests): "login" looks it up to learn its lease. */
export function tokenCredentials(token: SecretSource): Credentials {
  return {
    method: 'token',
    ownsToken: false,
    async login(vault) {
      const value = await token();
      let body: unknown;
      try {
        body = await vault.lookupSelf(value);
      } catch (error) {
        const answer = vaultAnswerOf(error);
        if (!answer) throw error;
        if (answer.status >= 500) {
          throw new ProviderError(
            'VaultUnavailable',
            `Vault answered ${answer.status} to a token lookup`,
            answer.status,
          );
        }
        const said = vaultErrorMessages(answer.body);
        throw new ProviderError(
          'AuthenticationFailed',
          `the Vault token was refused (${answer.status})${logged(said)}`,
          answer.status,
          said,
        );
      }
      const data = (body as { data?: Record<string, unknown> } | undefined)?.data;
      if (!data) throw new ProviderError('AuthenticationFailed', 'the Vault token lookup gave no data');
      return {
        token: value,
        leaseSeconds: typeof data['ttl'] === 'number' ? data['ttl'] : 0,
        renewable: data['renewable'] === true,
      };
    },
  };
}
