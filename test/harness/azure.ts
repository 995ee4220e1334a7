// A stand-in for Azure, for tests: no Azure endpoint is reachable from these machines and no Key
// Vault emulator can be installed. It serves, closely enough that the unmodified official SDKs
// (@azure/identity, @azure/keyvault-secrets) work against it:
// - Microsoft Entra ID at login.microsoftonline.com: instance discovery, the tenant's OpenID
//   configuration, and the token endpoint for a client secret and for a client assertion (a
//   federated token, as AKS workload identity sends it);
// - the Key Vault secrets data plane at <name>.vault.azure.net: get a secret, get a version, the
//   401 challenge (WWW-Authenticate) that starts the SDK's authentication, the error bodies of a
//   missing or forbidden secret, and 429 with Retry-After;
// - the same for Azure China (login.chinacloudapi.cn, <name>.vault.azure.cn), whose tokens are
//   good only there;
// - a private cloud (an Azure Stack Hub or air-gapped one: login.azurestack.test,
//   <name>.vault.azurestack.test) whose authority the public cloud does not know: its instance
//   discovery answers invalid_instance for it, as Entra does, and with `publicCloudReachable:
//   false` the public cloud's hosts cannot be reached at all (each refused CONNECT is recorded);
// - the instance metadata endpoint (IMDS) of a user-assigned managed identity, by client ID or
//   resource ID, at its real address: the Azure SDK sends plain-HTTP requests through
//   HTTPS_PROXY as well, so http://169.254.169.254 reaches this proxy, which answers it.
// The operator reaches it through HTTPS_PROXY: this server answers CONNECT for those real host
// names and terminates TLS with a certificate of its own CA (trusted with NODE_EXTRA_CA_CERTS), so
// the operator runs with Azure's real URLs and no option of its own changed for the test.

import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { certificateAuthority, issueCertificate } from './certificates.ts';

export const entraHost = 'login.microsoftonline.com';

/**
 * The clouds served: each with its Entra hosts (the first is its authority; MSAL sends China's
 * token requests to the alias login.partner.microsoftonline.cn) and the domain of its vaults.
 */
interface Cloud {
  readonly entraHosts: readonly string[];
  readonly vaultDomain: string;
  /** A cloud of its own, which the public cloud's instance discovery does not know. */
  readonly private?: boolean;
}
/** The authority and vault domain of the private cloud. */
export const privateCloud = {
  authorityHost: 'https://login.azurestack.test',
  vaultDomain: 'vault.azurestack.test',
};
const clouds: readonly Cloud[] = [
  { entraHosts: [entraHost], vaultDomain: 'vault.azure.net' },
  {
    entraHosts: ['login.chinacloudapi.cn', 'login.partner.microsoftonline.cn'],
    vaultDomain: 'vault.azure.cn',
  },
  {
    entraHosts: [new URL(privateCloud.authorityHost).host],
    vaultDomain: privateCloud.vaultDomain,
    private: true,
  },
];

export interface FakeAzureOptions {
  readonly vaultName?: string;
  /** false: CONNECT to the public cloud's hosts is refused (502), as from an air-gapped network. */
  readonly publicCloudReachable?: boolean;
}

export interface FakeSecretVersion {
  readonly version: string;
  readonly value: string;
  readonly contentType?: string;
}

export interface FakeAzureRequest {
  readonly host: string;
  readonly method: string;
  readonly path: string;
  /** Whether the request carried a bearer token this server issued. */
  readonly authorized: boolean;
  /** The status it was answered with, and when (ms since the epoch). */
  readonly status: number;
  readonly at: number;
}

export interface FakeAzure {
  /** http://127.0.0.1:<port>: the HTTPS_PROXY of the process under test. */
  readonly proxyUrl: string;
  /** The CA of every certificate this server presents: the NODE_EXTRA_CA_CERTS of the process under test. */
  readonly caFile: string;
  readonly tenantId: string;
  readonly vaultName: string;
  /** A service principal this tenant knows, with its secret. */
  readonly servicePrincipal: { readonly clientId: string; readonly clientSecret: string };
  /** A workload identity: the client and the federated token it may present. */
  readonly workloadIdentity: { readonly clientId: string; readonly federatedToken: string };
  /** A user-assigned managed identity, served by the instance metadata endpoint (IMDS). */
  readonly managedIdentity: { readonly clientId: string; readonly resourceId: string };
  /** Stores a new version of `name`; answers its version id. */
  setSecret(name: string, value: string, contentType?: string): string;
  /** Every read of `name` is refused with 403. */
  forbid(name: string): void;
  /** The next `count` Key Vault requests are answered 429 with Retry-After: `seconds`. */
  throttle(count: number, seconds: number): void;
  /** Every request served so far, in order. */
  readonly requests: readonly FakeAzureRequest[];
  /** Key Vault reads of `name` that were served (200): the ones that cost money in Azure. */
  reads(name: string): number;
  close(): Promise<void>;
}

/** A CA and one serving certificate for Entra and every *.vault.azure.net. */
async function certificates(dir: string): Promise<{ caFile: string; cert: string; key: string }> {
  const ca = await certificateAuthority(dir, 'fake-azure-ca');
  const names = clouds.flatMap((cloud) => [...cloud.entraHosts, `*.${cloud.vaultDomain}`]);
  const server = await issueCertificate(dir, ca, 'fake-azure', names);
  return {
    caFile: ca.certFile,
    cert: await readFile(server.certFile, 'utf8'),
    key: await readFile(server.keyFile, 'utf8'),
  };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export async function startFakeAzure(dir: string, options: FakeAzureOptions = {}): Promise<FakeAzure> {
  const { vaultName = 'fake-kv', publicCloudReachable = true } = options;
  const { caFile, cert, key } = await certificates(dir);
  const tenantId = randomUUID();
  const servicePrincipal = { clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url') };
  const workloadIdentity = {
    clientId: randomUUID(),
    federatedToken: `eyJ.${randomBytes(32).toString('base64url')}.sig`,
  };
  const managedIdentity = {
    clientId: randomUUID(),
    resourceId: `/subscriptions/${randomUUID()}/resourceGroups/ops/providers/Microsoft.ManagedIdentity/userAssignedIdentities/secrets-manager`,
  };
  /** Each token issued, with the vault domain it is for. */
  const issued = new Map<string, string>();
  const secrets = new Map<string, FakeSecretVersion[]>();
  const forbidden = new Set<string>();
  const throttling = { count: 0, seconds: 0 };
  const requests: FakeAzureRequest[] = [];
  const authorityOf = (cloud: Cloud): string => `https://${cloud.entraHosts[0] ?? ''}/${tenantId}`;

  const entra = async (
    req: IncomingMessage,
    res: ServerResponse,
    host: string,
    path: string,
    cloud: Cloud,
  ): Promise<void> => {
    const authority = `https://${host}/${tenantId}`;
    res.on('finish', () =>
      requests.push({
        host,
        method: req.method ?? '',
        path,
        authorized: false,
        status: res.statusCode,
        at: Date.now(),
      }),
    );
    if (req.method === 'GET' && path === '/common/discovery/instance') {
      // Entra vouches for its own clouds' hosts only; a private authority is unknown to it.
      const asked = new URL(req.url ?? '/', 'https://x').searchParams.get('authorization_endpoint') ?? '';
      const askedHost = URL.canParse(asked) ? new URL(asked).host : '';
      if (clouds.some((c) => c.private && c.entraHosts.includes(askedHost))) {
        json(res, 400, {
          error: 'invalid_instance',
          error_description: `AADSTS50049: Unknown or invalid instance. ${askedHost}`,
          error_codes: [50049],
        });
        return;
      }
      json(res, 200, {
        tenant_discovery_endpoint: `${authority}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [
          { preferred_network: host, preferred_cache: cloud.entraHosts[0], aliases: [...cloud.entraHosts] },
        ],
      });
    } else if (req.method === 'GET' && path === `/${tenantId}/v2.0/.well-known/openid-configuration`) {
      json(res, 200, {
        issuer: `${authority}/v2.0`,
        authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
        token_endpoint: `${authority}/oauth2/v2.0/token`,
        end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
        jwks_uri: `https://${host}/${tenantId}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        tenant_region_scope: 'EU',
      });
    } else if (req.method === 'POST' && path === `/${tenantId}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(await readBody(req));
      const clientId = form.get('client_id');
      const bySecret =
        clientId === servicePrincipal.clientId && form.get('client_secret') === servicePrincipal.clientSecret;
      const byAssertion =
        clientId === workloadIdentity.clientId &&
        form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
        form.get('client_assertion') === workloadIdentity.federatedToken;
      if (form.get('scope')?.split(' ').includes(`https://${cloud.vaultDomain}/.default`) !== true) {
        json(res, 400, {
          error: 'invalid_scope',
          error_description: `AADSTS70011: The provided value for scope ${form.get('scope') ?? ''} is not valid.`,
        });
        return;
      }
      if (form.get('grant_type') !== 'client_credentials' || !(bySecret || byAssertion)) {
        json(res, 401, {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
          error_codes: [7000215],
        });
        return;
      }
      const token = randomBytes(32).toString('base64url');
      issued.set(token, cloud.vaultDomain);
      json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
    } else {
      json(res, 404, { error: 'not_found', error_description: `no ${req.method} ${path} here` });
    }
  };

  const keyVault = (
    req: IncomingMessage,
    res: ServerResponse,
    host: string,
    path: string,
    cloud: Cloud,
  ): void => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    // A token is good only in the cloud it was issued for.
    const authorized = token !== undefined && issued.get(token) === cloud.vaultDomain;
    res.on('finish', () =>
      requests.push({
        host,
        method: req.method ?? '',
        path,
        authorized,
        status: res.statusCode,
        at: Date.now(),
      }),
    );
    if (!authorized) {
      res.writeHead(401, {
        'www-authenticate': `Bearer authorization="${authorityOf(cloud)}", resource="https://${cloud.vaultDomain}"`,
        'content-type': 'application/json; charset=utf-8',
      });
      res.end(
        JSON.stringify({
          error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
        }),
      );
      return;
    }
    if (throttling.count > 0) {
      throttling.count -= 1;
      json(
        res,
        429,
        { error: { code: 'Throttled', message: 'Rate limit is exceeded.' } },
        {
          'retry-after': String(throttling.seconds),
        },
      );
      return;
    }
    const match = /^\/secrets\/([0-9a-zA-Z-]+)(?:\/([0-9a-f]{32}))?\/?$/.exec(path);
    if (req.method !== 'GET' || !match) {
      json(res, 400, { error: { code: 'BadParameter', message: `unsupported: ${req.method} ${path}` } });
      return;
    }
    const [, name = '', version] = match;
    if (forbidden.has(name)) {
      json(res, 403, {
        error: {
          code: 'Forbidden',
          message: `The user, group or application does not have secrets get permission on key vault '${vaultName};location=westeurope'.`,
          innererror: { code: 'AccessDenied' },
        },
      });
      return;
    }
    const versions = secrets.get(name) ?? [];
    const found = version === undefined ? versions.at(-1) : versions.find((v) => v.version === version);
    if (!found) {
      json(res, 404, {
        error: {
          code: 'SecretNotFound',
          message: `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.`,
        },
      });
      return;
    }
    json(res, 200, {
      value: found.value,
      ...(found.contentType ? { contentType: found.contentType } : {}),
      id: `https://${host}/secrets/${name}/${found.version}`,
      attributes: {
        enabled: true,
        created: 1_700_000_000,
        updated: 1_700_000_000,
        recoveryLevel: 'Recoverable+Purgeable',
      },
      tags: {},
    });
  };

  const tls = createHttpsServer({ cert, key }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const login = clouds.find((cloud) => cloud.entraHosts.includes(host));
    const vault = clouds.find((cloud) => host === `${vaultName}.${cloud.vaultDomain}`);
    if (login) {
      entra(req, res, host, path, login).catch((error: unknown) => json(res, 500, { error: String(error) }));
    } else if (vault) {
      keyVault(req, res, host, path, vault);
    } else {
      json(res, 404, { error: { code: 'VaultNotFound', message: `no vault at ${host}` } });
    }
  });
  // The proxy: CONNECT to Entra or a vault is answered here, through the TLS server above.
  const sockets = new Set<Socket>();
  // The instance metadata endpoint of a managed identity (IMDS), as MSAL asks it: plain HTTP, a
  // Metadata header, the resource, and the identity by client ID or resource ID.
  const imds = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://imds');
    res.on('finish', () =>
      requests.push({
        host: 'imds',
        method: req.method ?? '',
        path: `${url.pathname}${url.search}`,
        authorized: false,
        status: res.statusCode,
        at: Date.now(),
      }),
    );
    if (req.method !== 'GET' || url.pathname !== '/metadata/identity/oauth2/token') {
      json(res, 404, { error: 'not_found' });
      return;
    }
    if (req.headers['metadata'] !== 'true') {
      json(res, 400, {
        error: 'invalid_request',
        error_description: 'Required metadata header not specified',
      });
      return;
    }
    const cloud = clouds.find((c) => url.searchParams.get('resource') === `https://${c.vaultDomain}`);
    const known =
      url.searchParams.get('client_id') === managedIdentity.clientId ||
      url.searchParams.get('msi_res_id') === managedIdentity.resourceId;
    if (!cloud || !known) {
      json(res, 400, { error: 'invalid_request', error_description: 'Identity not found' });
      return;
    }
    const token = randomBytes(32).toString('base64url');
    issued.set(token, cloud.vaultDomain);
    const now = Math.floor(Date.now() / 1000);
    json(res, 200, {
      access_token: token,
      client_id: managedIdentity.clientId,
      expires_in: '3599',
      expires_on: String(now + 3599),
      ext_expires_in: '3599',
      not_before: String(now),
      resource: `https://${cloud.vaultDomain}`,
      token_type: 'Bearer',
    });
  };
  const proxy = createHttpServer(imds);
  proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const target = (req.url ?? '').replace(/:443$/, '');
    const cloud = clouds.find((c) => c.entraHosts.includes(target) || target.endsWith(`.${c.vaultDomain}`));
    if (!cloud || (!cloud.private && !publicCloudReachable)) {
      requests.push({
        host: target,
        method: 'CONNECT',
        path: '',
        authorized: false,
        status: 502,
        at: Date.now(),
      });
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    tls.emit('connection', socket);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));

  return {
    proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    caFile,
    tenantId,
    vaultName,
    servicePrincipal,
    workloadIdentity,
    managedIdentity,
    setSecret(name, value, contentType) {
      const version = randomBytes(16).toString('hex');
      const versions = secrets.get(name) ?? [];
      versions.push({ version, value, ...(contentType ? { contentType } : {}) });
      secrets.set(name, versions);
      return version;
    },
    forbid: (name) => void forbidden.add(name),
    throttle(count, seconds) {
      throttling.count = count;
      throttling.seconds = seconds;
    },
    requests,
    reads: (name) =>
      requests.filter((r) => r.status === 200 && r.method === 'GET' && r.path.startsWith(`/secrets/${name}/`))
        .length,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
