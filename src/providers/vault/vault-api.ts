// The Vault API calls the operator makes, each one node-vault call, on a node-vault client made
// safe through its own options. node-vault 0.12 left as it comes would, whatever the operator's
// flags say:
//
// - read VAULT_TOKEN, VAULT_PREFIX and VAULT_NAMESPACE from the environment when the config gives
//   none (VAULT_PREFIX=/evil moved every request), and VAULT_SKIP_VERIFY into its TLS defaults;
// - keep the token a login answered and send it with every later request, the next login
//   included (one identity's token carried into another's login);
// - print URIs and login bodies, secret-id included, when DEBUG=node-vault is set;
// - HTML-escape path parameters with mustache (an apostrophe becomes "&#39;", which starts a
//   fragment);
// - send tokenRevokeSelf's arguments, request options and the token header included, as its body;
// - send through axios, which ignores an AbortSignal, follows a 307 to another host with the token
//   and a re-POSTed secret-id, and normalises "secret/%2e%2e/sys/raw" to "/v1/sys/raw".
//
// So the client gets: our request function (request-function.ts) as its transport; a pinned
// endpoint, an empty path prefix, the configured namespace and no token of its own, none of them
// writable; a debug function that prints nothing; mustache with a path-segment escape instead of
// an HTML one; and a revoke-self with a body schema that sends nothing. Tokens travel per call,
// in the X-Vault-Token header. test/unit/providers/vault/vault-api.test.ts holds each of these shut.

import mustache from 'mustache';
import nodeVault from 'node-vault';
import type { RequestPriority } from '../../rate-limit/rate-limiter.ts';
import { vaultRequestFunction } from './request-function.ts';
import type { VaultOperation, VaultTransport } from './transport.ts';

/** What the operator calls of a node-vault client: every answer is `unknown` until checked. */
interface NodeVaultClient {
  approleLogin(args: Record<string, unknown>): Promise<unknown>;
  kubernetesLogin(args: Record<string, unknown>): Promise<unknown>;
  tokenLookupSelf(args: Record<string, unknown>): Promise<unknown>;
  tokenRenewSelf(args: Record<string, unknown>): Promise<unknown>;
  tokenRevokeSelf(args: Record<string, unknown>): Promise<unknown>;
  health(args: Record<string, unknown>): Promise<unknown>;
  read(path: string, requestOptions: Record<string, unknown>): Promise<unknown>;
  write(
    path: string,
    data: Record<string, unknown>,
    requestOptions: Record<string, unknown>,
  ): Promise<unknown>;
  leaseRenewAt(args: Record<string, unknown>): Promise<unknown>;
  leaseRevokeAt(args: Record<string, unknown>): Promise<unknown>;
  generateFunction(name: string, conf: Record<string, unknown>): void;
}

export interface VaultReadOptions {
  readonly token: string;
  readonly operation: Extract<VaultOperation, 'read' | 'mounts' | 'issue'>;
  /** A query such as { version: '3' }. */
  readonly query?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  readonly priority?: RequestPriority;
}

/** The Vault calls of one identity; answers are Vault's JSON bodies, refusals reject (see vaultAnswerOf). */
export interface VaultApi {
  approleLogin(mount: string, roleId: string, secretId: string): Promise<unknown>;
  kubernetesLogin(mount: string, role: string, jwt: string): Promise<unknown>;
  lookupSelf(token: string): Promise<unknown>;
  renewSelf(token: string, increment: string): Promise<unknown>;
  revokeSelf(token: string): Promise<void>;
  /** GET of an API path given as raw segments (each encoded here, exactly once). */
  read(path: readonly string[], options: VaultReadOptions): Promise<unknown>;
  /** POST of a body to an API path given as raw segments (a PKI issue, a dynamic engine that takes a body). */
  write(
    path: readonly string[],
    body: Readonly<Record<string, unknown>>,
    options: Omit<VaultReadOptions, 'query'>,
  ): Promise<unknown>;
  /** sys/leases/renew/<lease id>: the body holds only the increment (seconds). */
  renewLease(
    token: string,
    leaseId: string,
    incrementSeconds: number,
    signal?: AbortSignal,
  ): Promise<unknown>;
  /** sys/leases/revoke/<lease id>, with no body. */
  revokeLease(token: string, leaseId: string, signal?: AbortSignal): Promise<void>;
  /** sys/health with every state answered as 200, for the version and cluster labels. */
  health(): Promise<unknown>;
}

/** An answer Vault gave with a status other than 200/204, as node-vault rejects it. */
export interface VaultAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The status and body of a node-vault ApiResponseError; undefined for anything else (no answer). */
export function vaultAnswerOf(error: unknown): VaultAnswer | undefined {
  const response = (error as { response?: { statusCode?: unknown; body?: unknown } } | null)?.response;
  return typeof response?.statusCode === 'number'
    ? { status: response.statusCode, body: response.body }
    : undefined;
}

/** A path parameter as one or more URL path segments: each percent-encoded, the "/" between kept. */
function pathEscape(value: unknown): string {
  return String(value).split('/').map(encodeURIComponent).join('/');
}

const pathTemplates = {
  render: (template: string, view: unknown): string =>
    mustache.render(template, view, undefined, { escape: pathEscape }),
};

function pinned(client: object, property: string, value: unknown): void {
  Object.defineProperty(client, property, { get: () => value, set: () => undefined });
}

export interface VaultApiOptions {
  /** The Vault address, as --vault.url gives it. */
  readonly address: string;
  readonly transport: VaultTransport;
  /** --vault.namespace: sent as X-Vault-Namespace on every request. */
  readonly namespace?: string;
}

/** A node-vault client of its own (one per identity: nothing is shared between them) over `transport`. */
export function createVaultApi(options: VaultApiOptions): VaultApi {
  const endpoint = options.address.replace(/\/+$/, '');
  const raw = nodeVault({
    endpoint,
    apiVersion: 'v1',
    'request-promise': vaultRequestFunction(endpoint, options.transport),
    debug: () => undefined,
    mustache: pathTemplates,
  });
  // Whatever the environment said when the client was made, and whatever a login answers later.
  pinned(raw, 'endpoint', endpoint);
  pinned(raw, 'apiVersion', 'v1');
  pinned(raw, 'pathPrefix', '');
  pinned(raw, 'namespace', options.namespace || undefined);
  pinned(raw, 'token', undefined);
  const client = raw as unknown as NodeVaultClient;
  // The stock command has no body schema, so node-vault sends its arguments as the body.
  client.generateFunction('tokenRevokeSelf', {
    method: 'POST',
    path: '/auth/token/revoke-self',
    schema: { req: { type: 'object', properties: {} } },
  });
  // The lease id is a path template argument, each of its segments percent-encoded (pathEscape);
  // the body holds only the increment.
  client.generateFunction('leaseRenewAt', {
    method: 'PUT',
    path: '/sys/leases/renew/{{lease_id}}',
    schema: {
      req: { type: 'object', properties: { increment: { type: 'integer' } }, required: ['increment'] },
    },
  });
  client.generateFunction('leaseRevokeAt', {
    method: 'PUT',
    path: '/sys/leases/revoke/{{lease_id}}',
    schema: { req: { type: 'object', properties: {} } },
  });
  const withToken = (token: string, operation: VaultOperation): Record<string, unknown> => ({
    headers: { 'X-Vault-Token': token },
    operation,
  });
  return {
    approleLogin: (mount, roleId, secretId) =>
      client.approleLogin({
        mount_point: mount,
        role_id: roleId,
        secret_id: secretId,
        requestOptions: { operation: 'login' },
      }),
    kubernetesLogin: (mount, role, jwt) =>
      client.kubernetesLogin({ mount_point: mount, role, jwt, requestOptions: { operation: 'login' } }),
    lookupSelf: (token) => client.tokenLookupSelf({ requestOptions: withToken(token, 'lookup') }),
    renewSelf: (token, increment) =>
      client.tokenRenewSelf({ increment, requestOptions: withToken(token, 'renew') }),
    revokeSelf: async (token) => {
      await client.tokenRevokeSelf({ requestOptions: withToken(token, 'revoke') });
    },
    read: (path, { token, operation, query, signal, priority }) => {
      const search = query ? `?${new URLSearchParams(query).toString()}` : '';
      return client.read(`${path.map(encodeURIComponent).join('/')}${search}`, {
        ...withToken(token, operation),
        ...(signal ? { signal } : {}),
        ...(priority ? { priority } : {}),
      });
    },
    write: (path, body, { token, operation, signal, priority }) =>
      client.write(
        path.map(encodeURIComponent).join('/'),
        { ...body },
        {
          ...withToken(token, operation),
          ...(signal ? { signal } : {}),
          ...(priority ? { priority } : {}),
        },
      ),
    // The lease id in the path (sys/leases/renew/<id>), not the body: a policy can then allow
    // renewing and revoking the leases of one path only (sys/leases/revoke/database/creds/app/*).
    renewLease: (token, leaseId, incrementSeconds, signal) =>
      client.leaseRenewAt({
        lease_id: leaseId,
        increment: incrementSeconds,
        requestOptions: { ...withToken(token, 'lease-renew'), ...(signal ? { signal } : {}) },
      }),
    revokeLease: async (token, leaseId, signal) => {
      await client.leaseRevokeAt({
        lease_id: leaseId,
        requestOptions: { ...withToken(token, 'lease-revoke'), ...(signal ? { signal } : {}) },
      });
    },
    health: () =>
      client.health({
        standbyok: true,
        sealedcode: 200,
        uninitcode: 200,
        requestOptions: { operation: 'health' },
      }),
  };
}
