// The one place that talks HTTP to Vault, through node-vault. Every call names its token
// explicitly and carries a timeout; node-vault's environment fallbacks (VAULT_TOKEN, VAULT_PREFIX,
// VAULT_SKIP_VERIFY, VAULT_NAMESPACE) and its debug output are switched off, and its errors, which
// hold the request with its token header, never leave this file.

import NodeVault from 'node-vault';
import { VaultError } from './errors.ts';

export type VaultOperation = 'read' | 'mounts' | 'login' | 'renew' | 'lookup' | 'revoke';

export interface VaultCall {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** API path below /v1/, without a leading slash: `secret/data/app`, `auth/approle/login`. */
  readonly path: string;
  readonly operation: VaultOperation;
  readonly token?: string;
  readonly body?: Readonly<Record<string, unknown>>;
}

export interface VaultReply {
  readonly status: number;
  readonly body: unknown;
}

/** Answers whatever HTTP status Vault gives; rejects with VaultError only when there is no answer. */
export interface VaultTransport {
  send(call: VaultCall): Promise<VaultReply>;
}

export interface TransportOptions {
  readonly address: string;
  readonly timeoutMs: number;
  readonly namespace?: string;
  readonly caPem?: string;
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  readonly skipVerify: boolean;
}

interface ResponseError {
  response?: { statusCode?: unknown; body?: unknown };
  code?: unknown;
  message?: unknown;
}

export function createNodeVaultTransport(options: TransportOptions): VaultTransport {
  const client = NodeVault({
    endpoint: options.address,
    apiVersion: 'v1',
    // node-vault reads VAULT_* variables whenever an option is empty; this operator decides
    // itself, so every one of them is set here.
    token: 'unused',
    pathPrefix: '/',
    ...(options.namespace ? { namespace: options.namespace } : {}),
    debug: () => undefined,
    requestOptions: {
      strictSSL: !options.skipVerify,
      ...(options.caPem ? { ca: options.caPem } : {}),
      ...(options.clientCertPem ? { cert: options.clientCertPem } : {}),
      ...(options.clientKeyPem ? { key: options.clientKeyPem } : {}),
    },
  });
  // With an empty token node-vault sends no X-Vault-Token of its own; each call sets its own.
  client.token = '';
  Object.assign(client, { pathPrefix: '', namespace: options.namespace || undefined });
  const address = options.address.replace(/\/$/, '');

  return {
    async send(call) {
      try {
        const body: unknown = await client.request({
          path: `/${call.path}`,
          method: call.method,
          timeout: options.timeoutMs,
          headers: call.token ? { 'X-Vault-Token': call.token } : {},
          ...(call.body ? { json: call.body } : {}),
        });
        return { status: 200, body };
      } catch (error) {
        const failure = error as ResponseError;
        const status = failure.response?.statusCode;
        if (typeof status === 'number') return { status, body: failure.response?.body };
        const code = typeof failure.code === 'string' ? failure.code : '';
        const message = typeof failure.message === 'string' ? failure.message : 'no response';
        throw new VaultError(
          'VaultUnavailable',
          `cannot reach Vault at ${address}: ${code === 'ECONNABORTED' ? `no answer within ${options.timeoutMs}ms` : message}`,
        );
      }
    },
  };
}
