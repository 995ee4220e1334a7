// The request function node-vault is given (its `request-promise` option): the only way a byte
// leaves for Vault. node-vault builds a URI from its endpoint, path prefix and a path it renders
// with mustache; whatever it built, this checks the final URI before anything is sent: below the
// Vault address's /v1/, no fragment, every path segment one that src/api/vault-path.ts allows and
// percent-encoded exactly once, a query in its canonical form, and a method of the few the
// operator uses. What passes is handed to the transport (rate limit, breaker, timeouts, size cap,
// redirect policy, metrics) as decoded segments, which the transport encodes again itself.

import { segmentProblem } from '../../api/vault-path.ts';
import { ProviderError } from '../errors.ts';
import type { VaultCall, VaultOperation, VaultTransport } from './transport.ts';

/** What node-vault passes for one request: its own fields, and the requestOptions a call gave. */
export interface NodeVaultRequest {
  readonly method?: unknown;
  readonly uri?: unknown;
  readonly headers?: unknown;
  readonly json?: unknown;
  /** Ours, through requestOptions: what the request is for (metrics), and how it may wait. */
  readonly operation?: unknown;
  readonly signal?: unknown;
  readonly priority?: unknown;
}

/** What node-vault expects back from the request function. */
export interface NodeVaultResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

/** node-vault's `request-promise` option: `defaults()` gives the function it calls for every request. */
export interface RequestPromise {
  defaults(ignored: unknown): (request: NodeVaultRequest) => Promise<NodeVaultResponse>;
}

const methods = new Set(['GET', 'POST', 'PUT']);
const operations = new Set<string>([
  'read',
  'mounts',
  'login',
  'renew',
  'lookup',
  'revoke',
  'health',
  'issue',
  'lease-renew',
  'lease-revoke',
]);

function refused(why: string): ProviderError {
  return new ProviderError('InvalidSpec', `refused to send a Vault request: ${why} (nothing was sent)`);
}

/**
 * The API path and query of `uri`, which must lie below `address`'s /v1/. Throws, naming the
 * problem and never the URI's values, when it could reach anything else.
 */
export function checkedTarget(
  address: string,
  uri: string,
): { readonly path: string[]; readonly query: Record<string, string> | undefined } {
  const base = `${address.replace(/\/+$/, '')}/v1/`;
  if (!uri.startsWith(base)) throw refused('its URI is not below the Vault address');
  if (uri.includes('#')) throw refused('its URI has a fragment');
  const rest = uri.slice(base.length);
  const queryAt = rest.indexOf('?');
  const rawPath = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? undefined : rest.slice(queryAt + 1);
  const path = rawPath.split('/').map((raw) => {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw refused('its path has a malformed percent-encoding');
    }
    const problem = segmentProblem(segment);
    if (problem) throw refused(`its path ${problem}`);
    // Encoded exactly once: "%252e" (an encoded "%2e") or a raw character that needed encoding fails.
    if (encodeURIComponent(segment) !== raw) throw refused('its path is not percent-encoded exactly once');
    return segment;
  });
  if (rawQuery === undefined) return { path, query: undefined };
  const params = new URLSearchParams(rawQuery);
  if (params.toString() !== rawQuery) throw refused('its query is not in canonical form');
  if (new Set(params.keys()).size !== [...params.keys()].length) throw refused('its query repeats a name');
  return { path, query: Object.fromEntries(params) };
}

function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/**
 * The request function for node-vault over `transport`. node-vault's own defaults (among them
 * `strictSSL` from VAULT_SKIP_VERIFY) are ignored: TLS is the transport's, from the operator's flags.
 */
export function vaultRequestFunction(address: string, transport: VaultTransport): RequestPromise {
  const send = async (request: NodeVaultRequest): Promise<NodeVaultResponse> => {
    const { method, uri, operation } = request;
    if (typeof method !== 'string' || !methods.has(method))
      throw refused('its method is not GET, POST or PUT');
    if (typeof uri !== 'string') throw refused('it has no URI');
    if (typeof operation !== 'string' || !operations.has(operation)) throw refused('it names no operation');
    const { path, query } = checkedTarget(address, uri);
    const token = header(request.headers, 'X-Vault-Token');
    const namespace = header(request.headers, 'X-Vault-Namespace');
    const body = request.json;
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw refused('its body is not a JSON object');
    }
    const call: VaultCall = {
      method: method as VaultCall['method'],
      path,
      operation: operation as VaultOperation,
      ...(query ? { query } : {}),
      ...(token ? { token } : {}),
      ...(namespace ? { namespace } : {}),
      ...(body ? { body: body as Record<string, unknown> } : {}),
      ...(request.signal instanceof AbortSignal ? { signal: request.signal } : {}),
      ...(request.priority === 'refresh' || request.priority === 'first'
        ? { priority: request.priority }
        : {}),
    };
    const reply = await transport.send(call);
    // node-vault takes any answer to a path that contains "sys/health" for a success: only the
    // health call itself may look like one, never a secret named .../sys/health-api.
    const seen = operation === 'health' ? '/v1/sys/health' : `/v1/(${operation})`;
    return { statusCode: reply.status, body: reply.body, request: { path: seen } };
  };
  return { defaults: () => send };
}
