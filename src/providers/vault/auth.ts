// The ways the operator proves who it is to Vault. Each returns a fresh token with its lease;
// credentials held in files are read again at every login, so rotated secret-ids and projected
// service-account tokens are picked up without a restart.

import { ProviderError } from '../errors.ts';
import { vaultErrorMessages } from './error-messages.ts';
import type { VaultTransport } from './transport.ts';

export interface IssuedToken {
  readonly token: string;
  /** Seconds the token lives from now; 0 for a token that never expires. */
  readonly leaseSeconds: number;
  readonly renewable: boolean;
}

export interface Credentials {
  /** For logs and metrics: approle, kubernetes or token. */
  readonly method: string;
  login(transport: VaultTransport): Promise<IssuedToken>;
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

async function loginAt(
  transport: VaultTransport,
  mount: string,
  method: string,
  body: Record<string, unknown>,
): Promise<IssuedToken> {
  const reply = await transport.send({
    method: 'POST',
    path: ['auth', ...mount.split('/'), 'login'],
    operation: 'login',
    body,
  });
  if (reply.status >= 500) {
    throw new ProviderError(
      'VaultUnavailable',
      `Vault answered ${reply.status} to the ${method} login at auth/${mount}: ${vaultErrorMessages(reply.body)}`,
      reply.status,
    );
  }
  const issued = reply.status === 200 ? authBlock(reply.body) : undefined;
  if (!issued) {
    const detail = vaultErrorMessages(reply.body) || `status ${reply.status}`;
    throw new ProviderError(
      'AuthenticationFailed',
      `${method} login at auth/${mount} was refused: ${detail}`,
      reply.status,
    );
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
    async login(transport) {
      const [roleId, secretId] = await Promise.all([options.roleId(), options.secretId()]);
      return loginAt(transport, options.mount, 'approle', { role_id: roleId, secret_id: secretId });
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
    async login(transport) {
      return loginAt(transport, options.mount, 'kubernetes', {
        role: options.role,
        jwt: await options.jwt(),
      });
    },
  };
}

/** A token given outright (development and tests): "login" looks it up to learn its lease. */
export function tokenCredentials(token: SecretSource): Credentials {
  return {
    method: 'token',
    async login(transport) {
      const value = await token();
      const reply = await transport.send({
        method: 'GET',
        path: ['auth', 'token', 'lookup-self'],
        operation: 'lookup',
        token: value,
      });
      if (reply.status >= 500) {
        throw new ProviderError(
          'VaultUnavailable',
          `Vault answered ${reply.status} to a token lookup`,
          reply.status,
        );
      }
      const data = (reply.body as { data?: Record<string, unknown> } | undefined)?.data;
      if (reply.status !== 200 || !data) {
        throw new ProviderError(
          'AuthenticationFailed',
          `the Vault token was refused: ${vaultErrorMessages(reply.body) || `status ${reply.status}`}`,
          reply.status,
        );
      }
      return {
        token: value,
        leaseSeconds: typeof data['ttl'] === 'number' ? data['ttl'] : 0,
        renewable: data['renewable'] === true,
      };
    },
  };
}
