// The operator's flags: one table, the single definition used for parsing, --help and the README
// (npm run docs:flags). Every flag of the original secrets-manager is here with its name and env
// fallback.

export interface FlagSpec {
  readonly flag: string;
  /** Key in RawOptions (see config.ts). */
  readonly key: string;
  readonly value?: string;
  readonly description: string;
  readonly default?: string;
  readonly env?: string;
  /**
   * The variable wins over the flag, as in the original (its help says so for VAULT_ADDR,
   * VAULT_ROLE_ID and VAULT_SECRET_ID); otherwise the flag wins over the variable.
   */
  readonly envWins?: boolean;
}

/** Where a setting came from: for the startup log line, which never shows a value. */
export type SettingSource = 'flag' | 'env' | 'default' | 'unset';

export const flags: readonly FlagSpec[] = [
  {
    flag: 'backend',
    key: 'backend',
    value: 'name',
    default: 'vault',
    description: 'Secrets backend: vault (Vault or OpenBao) or azure-kv (Azure Key Vault)',
  },
  {
    flag: 'reconcile-period',
    key: 'reconcilePeriod',
    value: 'duration',
    default: '1m',
    description: 'How often each Vault path is read again, unless a definition sets spec.refreshInterval',
  },
  {
    flag: 'config.backend-timeout',
    key: 'configBackendTimeout',
    value: 'duration',
    default: '5s',
    description: 'Timeout of each Vault or Azure Key Vault request',
  },
  {
    flag: 'azure-kv.name',
    key: 'azureKvName',
    value: 'name',
    env: 'AZURE_KV_NAME',
    envWins: true,
    description: 'Azure Key Vault name; the vault is https://<name>.vault.azure.net',
  },
  {
    flag: 'azure-kv.url',
    key: 'azureKvUrl',
    value: 'url',
    description:
      'Azure Key Vault URL, when not https://<name>.vault.azure.net (sovereign clouds: vault.azure.cn, vault.usgovcloudapi.net)',
  },
  {
    flag: 'azure-kv.authority-host',
    key: 'azureKvAuthorityHost',
    value: 'url',
    env: 'AZURE_AUTHORITY_HOST',
    envWins: true,
    description:
      "Microsoft Entra authority for a workload identity or service principal login; default: the vault URL's cloud (login.chinacloudapi.cn for vault.azure.cn, login.microsoftonline.us for vault.usgovcloudapi.net, else login.microsoftonline.com)",
  },
  {
    flag: 'azure-kv.tenant-id',
    key: 'azureKvTenantId',
    value: 'id',
    env: 'AZURE_TENANT_ID',
    envWins: true,
    description: 'Microsoft Entra tenant of the service principal or workload identity',
  },
  {
    flag: 'azure-kv.client-id',
    key: 'azureKvClientId',
    value: 'id',
    env: 'AZURE_CLIENT_ID',
    envWins: true,
    description: 'Client (application) ID of the service principal or workload identity',
  },
  {
    flag: 'azure-kv.client-secret',
    key: 'azureKvClientSecret',
    value: 'secret',
    env: 'AZURE_CLIENT_SECRET',
    envWins: true,
    description: 'Client secret of the service principal; prefer the variable to the flag, which ps shows',
  },
  {
    flag: 'azure-kv.managed-client-id',
    key: 'azureKvManagedClientId',
    value: 'id',
    env: 'AZURE_MANAGED_CLIENT_ID',
    envWins: true,
    description: 'Client ID of the managed identity to use (managed identity: the original preferred way)',
  },
  {
    flag: 'azure-kv.managed-resource-id',
    key: 'azureKvManagedResourceId',
    value: 'id',
    env: 'AZURE_MANAGED_RESOURCE_ID',
    envWins: true,
    description: 'Resource ID of the managed identity to use, instead of its client ID',
  },
  {
    flag: 'azure-kv.federated-token-file',
    key: 'azureKvFederatedTokenFile',
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
  {
    flag: 'vault.url',
    key: 'vaultUrl',
    value: 'url',
    default: 'https://127.0.0.1:8200',
    env: 'VAULT_ADDR',
    envWins: true,
    description: 'Vault address',
  },
  {
    flag: 'vault.auth-method',
    key: 'vaultAuthMethod',
    value: 'method',
    default: 'approle',
    description: 'How to log in to Vault: approle, kubernetes or token',
  },
  {
    flag: 'vault.role-id',
    key: 'vaultRoleId',
    value: 'id',
    env: 'VAULT_ROLE_ID',
    envWins: true,
    description: 'AppRole role_id',
  },
  {
    flag: 'vault.role-id-file',
    key: 'vaultRoleIdFile',
    value: 'path',
    description: 'File holding the AppRole role_id, read at every login',
  },
  {
    flag: 'vault.secret-id',
    key: 'vaultSecretId',
    value: 'id',
    env: 'VAULT_SECRET_ID',
    envWins: true,
    description: 'AppRole secret_id (prefer --vault.secret-id-file)',
  },
  {
    flag: 'vault.secret-id-file',
    key: 'vaultSecretIdFile',
    value: 'path',
    description: 'File holding the AppRole secret_id, read at every login so rotation needs no restart',
  },
  {
    flag: 'vault.approle-path',
    key: 'vaultApprolePath',
    value: 'path',
    default: 'approle',
    description: 'Mount path of the AppRole auth method',
  },
  {
    flag: 'vault.kubernetes-role',
    key: 'vaultKubernetesRole',
    value: 'role',
    description: 'Vault role for Kubernetes auth',
  },
  {
    flag: 'vault.kubernetes-path',
    key: 'vaultKubernetesPath',
    value: 'path',
    default: 'kubernetes',
    description: 'Mount path of the Kubernetes auth method',
  },
  {
    flag: 'vault.auth-scope',
    key: 'vaultAuthScope',
    value: 'scope',
    default: 'operator',
    description:
      "Whose Vault identity reads a definition's paths: operator (its own login) or namespace (a Kubernetes-auth login per namespace, with a token of that namespace's service account)",
  },
  {
    flag: 'vault.tenant-service-account',
    key: 'vaultTenantServiceAccount',
    value: 'name',
    default: 'default',
    description:
      'With --vault.auth-scope namespace: the service account in each namespace whose token logs in to Vault',
  },
  {
    flag: 'vault.tenant-role',
    key: 'vaultTenantRole',
    value: 'template',
    default: '{namespace}',
    description:
      'With --vault.auth-scope namespace: the Kubernetes-auth role each namespace logs in with; {namespace} is replaced',
  },
  {
    flag: 'vault.kubernetes-audience',
    key: 'vaultKubernetesAudience',
    value: 'audience',
    description:
      "With --vault.auth-scope namespace: the audience of the service-account tokens requested (default: the apiserver's)",
  },
  {
    flag: 'vault.kubernetes-token-file',
    key: 'vaultKubernetesTokenFile',
    value: 'path',
    default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    description: 'Service-account token for Kubernetes auth, read at every login',
  },
  {
    flag: 'vault.token',
    key: 'vaultToken',
    value: 'token',
    env: 'VAULT_TOKEN',
    description: 'Vault token for --vault.auth-method token (development; prefer --vault.token-file)',
  },
  {
    flag: 'vault.token-file',
    key: 'vaultTokenFile',
    value: 'path',
    description: 'File holding the Vault token for --vault.auth-method token',
  },
  {
    flag: 'vault.max-token-ttl',
    key: 'vaultMaxTokenTtl',
    value: 'seconds',
    default: '300',
    description:
      'A token whose renewal leaves it fewer seconds than this (or a third of its first TTL) is replaced by a new login',
  },
  {
    flag: 'vault.token-polling-period',
    key: 'vaultTokenPollingPeriod',
    value: 'duration',
    default: '15s',
    description: 'Accepted for compatibility; renewal is scheduled from the token TTL instead',
  },
  {
    flag: 'vault.renew-ttl-increment',
    key: 'vaultRenewTtlIncrement',
    value: 'seconds',
    default: '600',
    description: 'TTL increment asked for at each token renewal',
  },
  {
    flag: 'vault.engine',
    key: 'vaultEngine',
    value: 'engine',
    default: 'auto',
    description: 'KV engine version: auto (detected per mount), kv1 or kv2',
  },
  {
    flag: 'vault.namespace',
    key: 'vaultNamespace',
    value: 'namespace',
    env: 'VAULT_NAMESPACE',
    description: 'Vault Enterprise namespace',
  },
  {
    flag: 'vault.ca-cert',
    key: 'vaultCaCert',
    value: 'path',
    env: 'VAULT_CACERT',
    description: "PEM file of the CA that signed Vault's certificate",
  },
  {
    flag: 'vault.client-cert',
    key: 'vaultClientCert',
    value: 'path',
    env: 'VAULT_CLIENT_CERT',
    description: 'PEM client certificate for mutual TLS',
  },
  {
    flag: 'vault.client-key',
    key: 'vaultClientKey',
    value: 'path',
    env: 'VAULT_CLIENT_KEY',
    description: 'PEM client key for mutual TLS',
  },
  {
    flag: 'vault.skip-verify',
    key: 'vaultSkipVerify',
    description: "Do not verify Vault's TLS certificate (insecure; testing only)",
  },
  {
    flag: 'vault.qps',
    key: 'vaultQps',
    value: 'number',
    default: '250',
    description:
      'Most Vault requests per second, all requests together; halved while Vault answers 429, 5xx or slowly. Refreshes plan on 80% of it and stretch every interval alike when that is not enough',
  },
  {
    flag: 'vault.burst',
    key: 'vaultBurst',
    value: 'number',
    default: '500',
    description: 'Vault requests allowed at once above --vault.qps',
  },
  {
    flag: 'metrics-addr',
    key: 'metricsAddr',
    value: 'address',
    default: ':8080',
    description: 'Address of /metrics, /healthz and /readyz',
  },
  {
    flag: 'enable-leader-election',
    key: 'enableLeaderElection',
    description: 'Elect a leader through a Lease so only one replica writes',
  },
  {
    flag: 'leader-election-namespace',
    key: 'leaderElectionNamespace',
    value: 'namespace',
    default: 'secrets-manager',
    env: 'POD_NAMESPACE',
    description: 'Namespace of the leader election Lease',
  },
  {
    flag: 'leader-election-id',
    key: 'leaderElectionId',
    value: 'name',
    default: '5ac9a181.secrets-manager.tuenti.io',
    description:
      "Name of the leader election Lease; the original's, so during a migration the old and the new operator never both lead",
  },
  {
    flag: 'leader-election-lease-duration',
    key: 'leaderElectionLeaseDuration',
    value: 'duration',
    default: '15s',
    description: 'How long a leader holds the Lease without renewing it',
  },
  {
    flag: 'access-policy',
    key: 'accessPolicy',
    value: 'file',
    description:
      'YAML rules of which Vault paths each namespace may read, re-read when the file changes; without it every namespace may read every path the operator can',
  },
  {
    flag: 'watch-namespaces',
    key: 'watchNamespaces',
    value: 'list',
    default: '',
    description: 'Comma-separated namespaces to watch; all namespaces when empty',
  },
  {
    flag: 'exclude-namespaces',
    key: 'excludeNamespaces',
    value: 'list',
    default: '',
    description: 'Comma-separated namespaces to ignore; wins over --watch-namespaces',
  },
  {
    flag: 'controller-name',
    key: 'controllerName',
    value: 'name',
    default: 'SecretDefinition',
    description:
      'Name this instance reports in Events, logs and the controller label of the controller-runtime and workqueue metrics',
  },
  {
    flag: 'rollout-restart',
    key: 'rolloutRestart',
    description:
      'Restart the workloads that use a Secret when its data changes: rolloutRestartTargets, and workloads annotated secrets-manager.tuenti.io/auto-reload: "true" (needs get, list, watch and patch on deployments, statefulsets and daemonsets)',
  },
  {
    flag: 'rollout-restart-interval',
    key: 'rolloutRestartInterval',
    value: 'duration',
    default: '30s',
    description:
      'The least time between two restarts of one workload; changes meanwhile are folded into the next',
  },
  {
    flag: 'concurrency',
    key: 'concurrency',
    value: 'number',
    default: '4',
    description: 'SecretDefinitions reconciled at once',
  },
  {
    flag: 'kube-api-qps',
    key: 'kubeApiQps',
    value: 'number',
    default: '500',
    description:
      'Most Kubernetes API requests per second, watches and lists included (leader election has its own client)',
  },
  {
    flag: 'kube-api-burst',
    key: 'kubeApiBurst',
    value: 'number',
    default: '1000',
    description: 'Kubernetes API requests allowed at once above --kube-api-qps',
  },
  {
    flag: 'enable-debug-log',
    key: 'enableDebugLog',
    description: 'Log at debug level (same as --log-level debug)',
  },
  {
    flag: 'log-level',
    key: 'logLevel',
    value: 'level',
    default: 'info',
    description: 'error, warn, info or debug',
  },
  { flag: 'log-format', key: 'logFormat', value: 'format', default: 'json', description: 'json or text' },
  {
    flag: 'zap-devel',
    key: 'zapDevel',
    description: "controller-runtime's development logging, as in the original: text format at debug level",
  },
  {
    flag: 'zap-encoder',
    key: 'zapEncoder',
    value: 'encoder',
    description: 'json or console (text): the log format, as in the original',
  },
  {
    flag: 'zap-log-level',
    key: 'zapLogLevel',
    value: 'level',
    description:
      'debug, info, error (dpanic, panic, fatal: error), or a verbosity number (1 and up: debug), as in the original',
  },
  {
    flag: 'zap-stacktrace-level',
    key: 'zapStacktraceLevel',
    value: 'level',
    description: 'Accepted for compatibility; no stack traces are logged',
  },
  {
    flag: 'zap-time-encoding',
    key: 'zapTimeEncoding',
    value: 'encoding',
    description: 'Accepted for compatibility; timestamps are always ISO 8601',
  },
  {
    flag: 'kubeconfig',
    key: 'kubeconfig',
    value: 'path',
    // Not the flag's env: KUBECONFIG is a list of files, merged as kubectl merges them.
    description:
      'Kubeconfig to use; without it the files KUBECONFIG lists (merged), else in a Pod its service account, else ~/.kube/config (as controller-runtime)',
  },
];

/** The settings that say where the operator connects and as whom: their sources are logged at start. */
const connectionFlags = [
  'azure-kv.name',
  'azure-kv.url',
  'azure-kv.authority-host',
  'azure-kv.tenant-id',
  'azure-kv.client-id',
  'azure-kv.client-secret',
  'azure-kv.managed-client-id',
  'azure-kv.managed-resource-id',
  'azure-kv.federated-token-file',
  'vault.url',
  'vault.auth-method',
  'vault.role-id',
  'vault.role-id-file',
  'vault.secret-id',
  'vault.secret-id-file',
  'vault.kubernetes-role',
  'vault.token',
  'vault.token-file',
  'vault.namespace',
  'vault.ca-cert',
  'vault.client-cert',
  'vault.client-key',
  'kubeconfig',
];

/**
 * Where each connection setting came from, for the startup log: "--vault.url from env VAULT_ADDR",
 * "--kubeconfig from flag", "--vault.auth-method from default"; settings nobody gave are left out.
 * Never a value. (Plain strings: the log's redaction would hide a field named after a secret.)
 */
export function connectionSources(
  sources: Readonly<Record<string, SettingSource>>,
  backend: string = 'vault',
): string[] {
  const described: string[] = [];
  // Only the settings of the backend in use: the other's are not read.
  const other = backend === 'azure-kv' ? 'vault.' : 'azure-kv.';
  for (const spec of flags) {
    const source = sources[spec.key];
    if (!connectionFlags.includes(spec.flag) || spec.flag.startsWith(other)) continue;
    if (source === undefined || source === 'unset') continue;
    described.push(`--${spec.flag} from ${source === 'env' ? `env ${spec.env ?? ''}` : source}`);
  }
  return described;
}
