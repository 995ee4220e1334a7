// The Azure Key Vault flags, with the original's names and AZURE_* variables.

import type { FlagSpec } from '../../flag-spec.ts';

export const azureKvFlags: readonly FlagSpec[] = [
  {
    flag: 'azure-kv.name',
    key: 'azureKvName',
    connection: true,
    value: 'name',
    env: 'AZURE_KV_NAME',
    envWins: true,
    description: 'Azure Key Vault name; the vault is https://<name>.vault.azure.net',
  },
  {
    flag: 'azure-kv.url',
    key: 'azureKvUrl',
    connection: true,
    value: 'url',
    description:
      'Azure Key Vault URL, when not https://<name>.vault.azure.net (sovereign clouds: vault.azure.cn, vault.usgovcloudapi.net)',
  },
  {
    flag: 'azure-kv.authority-host',
    key: 'azureKvAuthorityHost',
    connection: true,
    value: 'url',
    env: 'AZURE_AUTHORITY_HOST',
    envWins: true,
    description:
      "Microsoft Entra authority for a workload identity or service principal login; default: the vault URL's cloud (login.chinacloudapi.cn for vault.azure.cn, login.microsoftonline.us for vault.usgovcloudapi.net, else login.microsoftonline.com)",
  },
  {
    flag: 'azure-kv.disable-instance-discovery',
    key: 'azureKvDisableInstanceDiscovery',
    connection: true,
    description:
      'Trust --azure-kv.authority-host as it is, without asking the public cloud (login.microsoftonline.com) whether it is an Entra authority: for a private authority (Azure Stack Hub, an air-gapped cloud) that the public cloud does not know or cannot be reached from. Applies to workload identity and service principal logins; a managed identity asks its host, not an authority, so it needs none',
  },
  {
    flag: 'azure-kv.tenant-id',
    key: 'azureKvTenantId',
    connection: true,
    value: 'id',
    env: 'AZURE_TENANT_ID',
    envWins: true,
    description: 'Microsoft Entra tenant of the service principal or workload identity',
  },
  {
    flag: 'azure-kv.client-id',
    key: 'azureKvClientId',
    connection: true,
    value: 'id',
    env: 'AZURE_CLIENT_ID',
    envWins: true,
    description: 'Client (application) ID of the service principal or workload identity',
  },
  {
    flag: 'azure-kv.client-secret',
    key: 'azureKvClientSecret',
    connection: true,
    value: 'secret',
    env: 'AZURE_CLIENT_SECRET',
    envWins: true,
    description: 'Client secret of the service principal; prefer the variable to the flag, which ps shows',
  },
  {
    flag: 'azure-kv.managed-client-id',
    key: 'azureKvManagedClientId',
    connection: true,
    value: 'id',
    env: 'AZURE_MANAGED_CLIENT_ID',
    envWins: true,
    description: 'Client ID of the managed identity to use (managed identity: the original preferred way)',
  },
  {
    flag: 'azure-kv.managed-resource-id',
    key: 'azureKvManagedResourceId',
    connection: true,
    value: 'id',
    env: 'AZURE_MANAGED_RESOURCE_ID',
    envWins: true,
    description: 'Resource ID of the managed identity to use, instead of its client ID',
  },
  {
    flag: 'azure-kv.federated-token-file',
    key: 'azureKvFederatedTokenFile',
    connection: true,
    value: 'path',
    env: 'AZURE_FEDERATED_TOKEN_FILE',
    envWins: true,
    description:
      'Federated service-account token of AKS workload identity (the webhook sets the variable), read at every login',
  },
  {
    flag: 'azure-kv.qps',
    key: 'azureKvQps',
    value: 'number',
    default: '100',
    description: 'Azure Key Vault requests per second at most (a vault serves 4,000 secret reads per 10 s)',
  },
  {
    flag: 'azure-kv.burst',
    key: 'azureKvBurst',
    value: 'number',
    default: '200',
    description: 'Azure Key Vault requests allowed at once above --azure-kv.qps',
  },
];
