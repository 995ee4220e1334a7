// The Azure Key Vault settings: the --azure-kv.* flags and AZURE_* variables (and
// --config.backend-timeout), checked and typed, with --backend azure-kv.

import {
  ConfigError,
  duration,
  integer,
  optional,
  positive,
  text,
  withoutUserInfo,
  type RawOptions,
} from '../../option-values.ts';
import { authorityOf, isVaultHost, keyVaultResource } from './cloud.ts';

/** How the operator logs in to Microsoft Entra ID for Azure Key Vault. */
export type AzureAuth =
  | { readonly method: 'managed-identity'; readonly clientId?: string; readonly resourceId?: string }
  | {
      readonly method: 'workload-identity';
      readonly tenantId: string;
      readonly clientId: string;
      readonly tokenFile: string;
    }
  | {
      readonly method: 'client-secret';
      readonly tenantId: string;
      readonly clientId: string;
      readonly clientSecret: string;
    };

export interface AzureKvConfig {
  /** The vault's name: the azure_kv_name label of its metrics. */
  readonly name: string;
  /** https://<name>.vault.azure.net unless --azure-kv.url says otherwise. */
  readonly url: string;
  /** What Key Vault tokens are for: https://vault.azure.net, or a sovereign cloud's domain. */
  readonly resource: string;
  /**
   * The Entra authority that issues them: --azure-kv.authority-host, else the URL's cloud's;
   * absent only for a managed identity in a cloud of no known domain (it needs none).
   */
  readonly authorityHost?: string;
  /**
   * Whether the login trusts the authority as given instead of asking the public cloud's instance
   * discovery about it (--azure-kv.disable-instance-discovery): for a private authority.
   */
  readonly disableInstanceDiscovery: boolean;
  /** The tenant label of the metrics ("" for a managed identity, whose tenant is the host's). */
  readonly tenantId: string;
  readonly auth: AzureAuth;
  readonly qps: number;
  readonly burst: number;
  readonly timeoutMs: number;
}

/** Key Vault names: 3 to 24 letters, digits and dashes, starting with a letter. */
const keyVaultName = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;

export function azureKvConfig(raw: RawOptions): AzureKvConfig {
  const explicitUrl = text(raw, 'azureKvUrl');
  const name = text(raw, 'azureKvName');
  if (!name && !explicitUrl)
    throw new ConfigError(
      '--backend azure-kv needs --azure-kv.name (or AZURE_KV_NAME): the name of the Key Vault',
    );
  if (name && !keyVaultName.test(name))
    throw new ConfigError(
      `--azure-kv.name: "${name}" is not a Key Vault name (3 to 24 letters, digits and "-", starting with a letter)`,
    );
  if (explicitUrl && (!/^https:\/\/[^/\s?#@]+\/?$/.test(explicitUrl) || !isVaultHost(explicitUrl)))
    throw new ConfigError(
      `--azure-kv.url: "${withoutUserInfo(explicitUrl)}" must be an https:// URL of a vault named <name>.<its cloud's domain>, like https://my-vault.vault.azure.cn`,
    );
  const url = explicitUrl?.replace(/\/$/, '') ?? `https://${name}.vault.azure.net`;
  const explicitAuthority = text(raw, 'azureKvAuthorityHost');
  if (explicitAuthority && !/^https:\/\/[^/\s?#@]+\/?$/.test(explicitAuthority))
    throw new ConfigError(
      `--azure-kv.authority-host: "${withoutUserInfo(explicitAuthority)}" must be an https:// URL of a host, like https://login.chinacloudapi.cn`,
    );
  const authorityHost = explicitAuthority?.replace(/\/$/, '') ?? authorityOf(url);
  const tenantId = text(raw, 'azureKvTenantId');
  const clientId = text(raw, 'azureKvClientId');
  const clientSecret = text(raw, 'azureKvClientSecret');
  const managedClientId = text(raw, 'azureKvManagedClientId');
  const managedResourceId = text(raw, 'azureKvManagedResourceId');
  const tokenFile = text(raw, 'azureKvFederatedTokenFile');
  let auth: AzureAuth;
  // The original's order: a managed identity when one is named, else a service principal; AKS
  // workload identity (a federated token file) comes before the client secret.
  if (managedClientId || managedResourceId) {
    if (managedClientId && managedResourceId)
      throw new ConfigError(
        '--azure-kv.managed-client-id and --azure-kv.managed-resource-id: give one, not both',
      );
    auth = {
      method: 'managed-identity',
      ...optional('clientId', managedClientId),
      ...optional('resourceId', managedResourceId),
    };
  } else if (tokenFile && tenantId && clientId) {
    auth = { method: 'workload-identity', tenantId, clientId, tokenFile };
  } else if (tenantId && clientId && clientSecret) {
    auth = { method: 'client-secret', tenantId, clientId, clientSecret };
  } else {
    throw new ConfigError(
      '--backend azure-kv needs credentials: --azure-kv.managed-client-id or --azure-kv.managed-resource-id (managed identity), ' +
        'or --azure-kv.tenant-id and --azure-kv.client-id with AZURE_FEDERATED_TOKEN_FILE (workload identity) ' +
        'or with --azure-kv.client-secret (service principal); each also from its AZURE_* variable',
    );
  }
  // A managed identity asks the host's metadata endpoint, which knows its cloud; the other logins
  // need the authority.
  if (!authorityHost && auth.method !== 'managed-identity')
    throw new ConfigError(
      `--azure-kv.url: ${url} is in no Azure cloud this operator knows (vault.azure.net, vault.azure.cn, vault.usgovcloudapi.net); give its Entra authority with --azure-kv.authority-host (or AZURE_AUTHORITY_HOST)`,
    );
  const disableInstanceDiscovery = raw['azureKvDisableInstanceDiscovery'] === true;
  // Without discovery the login trusts the authority it is given: it must be one said on purpose,
  // not the default of the URL's cloud, which MSAL knows anyway.
  if (disableInstanceDiscovery && !explicitAuthority)
    throw new ConfigError(
      '--azure-kv.disable-instance-discovery trusts the authority as given: name it with --azure-kv.authority-host (or AZURE_AUTHORITY_HOST), the https:// URL of your private Entra authority',
    );
  // Accepted for every login: a managed identity asks its host's metadata endpoint, which needs no
  // discovery, so there it changes nothing.
  const timeoutMs = duration(raw, 'configBackendTimeout', 'config.backend-timeout');
  if (timeoutMs < 100) throw new ConfigError('--config.backend-timeout must be at least 100ms');
  return {
    name: name ?? new URL(url).hostname.split('.')[0] ?? '',
    url,
    resource: keyVaultResource(url),
    ...optional('authorityHost', authorityHost),
    disableInstanceDiscovery,
    tenantId: auth.method === 'managed-identity' ? (tenantId ?? '') : auth.tenantId,
    auth,
    qps: positive(raw, 'azureKvQps', 'azure-kv.qps'),
    burst: integer(raw, 'azureKvBurst', 'azure-kv.burst', 1),
    timeoutMs,
  };
}
