// The operator's configuration: flag values (strings from commander) checked and turned into a
// typed Config. Anything wrong is a ConfigError whose one-line message says what to fix.

import type { Backend } from './api/types.ts';
import { formatDuration, parseDuration } from './api/duration.ts';
import { minimumRefreshIntervalMs } from './api/validate.ts';
import type { LogFormat, LogLevel } from './observability/logger.ts';
import { parseListenAddress } from './observability/server.ts';
import { authorityOf, isVaultHost, keyVaultResource } from './providers/azure-kv/cloud.ts';
import type { EngineMode } from './providers/vault/kv.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type AuthMethod = 'approle' | 'kubernetes' | 'token';

/** operator: one login for every definition; namespace: one Kubernetes-auth login per namespace. */
export type AuthScope = 'operator' | 'namespace';

export interface TenantAuthConfig {
  /** The service account in each namespace whose token logs in. */
  readonly serviceAccount: string;
  /** The Kubernetes-auth role, with {namespace} replaced by the namespace. */
  readonly role: string;
  readonly audience?: string;
}

export interface VaultConfig {
  readonly address: string;
  readonly authMethod: AuthMethod;
  readonly authScope: AuthScope;
  /** Set with authScope namespace. */
  readonly tenant?: TenantAuthConfig;
  readonly roleId?: string;
  readonly roleIdFile?: string;
  readonly secretId?: string;
  readonly secretIdFile?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly kubernetesRole?: string;
  readonly kubernetesTokenFile: string;
  readonly approlePath: string;
  readonly kubernetesPath: string;
  readonly maxTokenTtlSeconds: number;
  readonly tokenPollingPeriodMs: number;
  readonly renewTtlIncrementSeconds: number;
  readonly engine: EngineMode;
  readonly namespace?: string;
  readonly caCertFile?: string;
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
  readonly skipVerify: boolean;
  readonly qps: number;
  readonly burst: number;
  readonly timeoutMs: number;
}

export interface LeaderElectionConfig {
  readonly enabled: boolean;
  readonly namespace: string;
  readonly name: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

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
  /** The tenant label of the metrics ("" for a managed identity, whose tenant is the host's). */
  readonly tenantId: string;
  readonly auth: AzureAuth;
  readonly qps: number;
  readonly burst: number;
  readonly timeoutMs: number;
}

export interface Config {
  readonly reconcilePeriodMs: number;
  readonly backend: Backend;
  /** The Vault settings; checked and used only with --backend vault. */
  readonly vault: VaultConfig;
  /** Present with --backend azure-kv. */
  readonly azureKv?: AzureKvConfig;
  readonly metricsAddress: { readonly host: string | undefined; readonly port: number };
  readonly leaderElection: LeaderElectionConfig;
  readonly watchNamespaces: readonly string[];
  readonly excludeNamespaces: readonly string[];
  readonly controllerName: string;
  readonly concurrency: number;
  /** Rollout restarts of the workloads that use a Secret (--rollout-restart). */
  readonly rolloutRestart: { readonly enabled: boolean; readonly minIntervalMs: number };
  /** Client-side rate limit towards the apiserver: requests per second and burst. */
  readonly kubeApi: { readonly qps: number; readonly burst: number };
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly kubeconfig?: string;
  /** The access policy file; absent: every namespace may read every path. */
  readonly accessPolicyFile?: string;
}

/** Option values as commander hands them over: strings, booleans, or absent. */
export type RawOptions = Readonly<Record<string, string | boolean | undefined>>;

function text(raw: RawOptions, name: string): string | undefined {
  const value = raw[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A URL as an error may quote it: a user and password in it (refused anyway) are not repeated. */
function withoutUserInfo(url: string): string {
  return url.replace(/^([^:/?#]*:\/\/)[^/?#]*@/, '$1…@');
}

function required(raw: RawOptions, name: string, flag: string): string {
  const value = text(raw, name);
  if (value === undefined) throw new ConfigError(`--${flag} must not be empty`);
  return value;
}

function duration(raw: RawOptions, name: string, flag: string): number {
  const value = required(raw, name, flag);
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new ConfigError(`--${flag}: "${value}" is not a duration; use a value like 30s, 5m or 1h`);
  return ms;
}

function atLeast(ms: number, minimum: number, flag: string): number {
  if (ms < minimum) throw new ConfigError(`--${flag} must be at least ${formatDuration(minimum)}`);
  return ms;
}

function integer(
  raw: RawOptions,
  name: string,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = required(raw, name, flag);
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(
      `--${flag}: "${value}" must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`,
    );
  }
  return number;
}

function positive(raw: RawOptions, name: string, flag: string): number {
  const value = required(raw, name, flag);
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new ConfigError(`--${flag}: "${value}" must be a number above 0`);
  return number;
}

function oneOf<T extends string>(raw: RawOptions, name: string, flag: string, allowed: readonly T[]): T {
  const value = required(raw, name, flag);
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(`--${flag}: "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

function list(raw: RawOptions, name: string): string[] {
  return (text(raw, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

const namespacePlaceholder = '{namespace}';

/** The tenant role for `namespace`, from the --vault.tenant-role template. */
export function tenantRoleFor(template: string, namespace: string): string {
  return template.replaceAll(namespacePlaceholder, namespace);
}

function tenantAuth(raw: RawOptions): TenantAuthConfig {
  const serviceAccount = required(raw, 'vaultTenantServiceAccount', 'vault.tenant-service-account');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(serviceAccount) || serviceAccount.length > 253)
    throw new ConfigError(
      `--vault.tenant-service-account: "${serviceAccount}" is not a service account name (lowercase letters, digits, "-" and ".")`,
    );
  const role = required(raw, 'vaultTenantRole', 'vault.tenant-role');
  // A Vault role name once {namespace} is filled in: nothing that could mean something else.
  if (
    !/^[-\w.{}]+$/.test(role) ||
    tenantRoleFor(role, 'ns').includes('{') ||
    tenantRoleFor(role, 'ns').includes('}')
  )
    throw new ConfigError(
      `--vault.tenant-role: "${role}" may hold letters, digits, "-", "_", "." and the placeholder {namespace}`,
    );
  const audience = text(raw, 'vaultKubernetesAudience');
  return { serviceAccount, role, ...(audience ? { audience } : {}) };
}

/** Key Vault names: 3 to 24 letters, digits and dashes, starting with a letter. */
const keyVaultName = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;

function azureKvConfig(raw: RawOptions): AzureKvConfig {
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
  const timeoutMs = duration(raw, 'configBackendTimeout', 'config.backend-timeout');
  if (timeoutMs < 100) throw new ConfigError('--config.backend-timeout must be at least 100ms');
  return {
    name: name ?? new URL(url).hostname.split('.')[0] ?? '',
    url,
    resource: keyVaultResource(url),
    ...optional('authorityHost', authorityHost),
    tenantId: auth.method === 'managed-identity' ? (tenantId ?? '') : auth.tenantId,
    auth,
    qps: positive(raw, 'azureKvQps', 'azure-kv.qps'),
    burst: integer(raw, 'azureKvBurst', 'azure-kv.burst', 1),
    timeoutMs,
  };
}

function vaultConfig(raw: RawOptions, checkCredentials: boolean): VaultConfig {
  const address = required(raw, 'vaultUrl', 'vault.url');
  // Another backend reads no Vault setting: a stray VAULT_ADDR must not stop it.
  if (checkCredentials && !/^https?:\/\/[^/\s]+/.test(address))
    throw new ConfigError(`--vault.url: "${withoutUserInfo(address)}" must be an http:// or https:// URL`);
  const authMethod = oneOf<AuthMethod>(raw, 'vaultAuthMethod', 'vault.auth-method', [
    'approle',
    'kubernetes',
    'token',
  ]);
  const authScope = oneOf<AuthScope>(raw, 'vaultAuthScope', 'vault.auth-scope', ['operator', 'namespace']);
  const config: VaultConfig = {
    address,
    authMethod,
    authScope,
    ...(authScope === 'namespace' ? { tenant: tenantAuth(raw) } : {}),
    ...optional('roleId', text(raw, 'vaultRoleId')),
    ...optional('roleIdFile', text(raw, 'vaultRoleIdFile')),
    ...optional('secretId', text(raw, 'vaultSecretId')),
    ...optional('secretIdFile', text(raw, 'vaultSecretIdFile')),
    ...optional('token', text(raw, 'vaultToken')),
    ...optional('tokenFile', text(raw, 'vaultTokenFile')),
    ...optional('kubernetesRole', text(raw, 'vaultKubernetesRole')),
    kubernetesTokenFile: required(raw, 'vaultKubernetesTokenFile', 'vault.kubernetes-token-file'),
    approlePath: required(raw, 'vaultApprolePath', 'vault.approle-path').replace(/^\/+|\/+$/g, ''),
    kubernetesPath: required(raw, 'vaultKubernetesPath', 'vault.kubernetes-path').replace(/^\/+|\/+$/g, ''),
    maxTokenTtlSeconds: integer(raw, 'vaultMaxTokenTtl', 'vault.max-token-ttl', 0),
    tokenPollingPeriodMs: duration(raw, 'vaultTokenPollingPeriod', 'vault.token-polling-period'),
    renewTtlIncrementSeconds: integer(raw, 'vaultRenewTtlIncrement', 'vault.renew-ttl-increment', 1),
    engine: oneOf<EngineMode>(raw, 'vaultEngine', 'vault.engine', ['auto', 'kv1', 'kv2']),
    ...optional('namespace', text(raw, 'vaultNamespace')),
    ...optional('caCertFile', text(raw, 'vaultCaCert')),
    ...optional('clientCertFile', text(raw, 'vaultClientCert')),
    ...optional('clientKeyFile', text(raw, 'vaultClientKey')),
    skipVerify: raw['vaultSkipVerify'] === true,
    qps: positive(raw, 'vaultQps', 'vault.qps'),
    burst: integer(raw, 'vaultBurst', 'vault.burst', 1),
    timeoutMs: duration(raw, 'configBackendTimeout', 'config.backend-timeout'),
  };
  // Another backend: nothing more to check. In namespace scope the operator never logs in as
  // itself: its own credentials are not needed.
  if (!checkCredentials) return config;
  if (authScope === 'operator' && authMethod === 'approle') {
    if (!config.roleId && !config.roleIdFile)
      throw new ConfigError(
        '--vault.auth-method approle needs --vault.role-id (or VAULT_ROLE_ID, or --vault.role-id-file)',
      );
    if (!config.secretId && !config.secretIdFile)
      throw new ConfigError(
        '--vault.auth-method approle needs --vault.secret-id (or VAULT_SECRET_ID, or --vault.secret-id-file)',
      );
  }
  if (authScope === 'operator' && authMethod === 'kubernetes' && !config.kubernetesRole)
    throw new ConfigError('--vault.auth-method kubernetes needs --vault.kubernetes-role');
  if (authScope === 'operator' && authMethod === 'token' && !config.token && !config.tokenFile)
    throw new ConfigError(
      '--vault.auth-method token needs --vault.token (or VAULT_TOKEN, or --vault.token-file)',
    );
  if (Boolean(config.clientCertFile) !== Boolean(config.clientKeyFile))
    throw new ConfigError('--vault.client-cert and --vault.client-key go together');
  if (config.timeoutMs < 100) throw new ConfigError('--config.backend-timeout must be at least 100ms');
  return config;
}

const zapLevels = ['debug', 'info', 'warn', 'error', 'dpanic', 'panic', 'fatal'];

/**
 * The log level and format. The original's zap flags (controller-runtime) still work: -zap-devel
 * means text at debug level, -zap-encoder and -zap-log-level override it, as zap does; and
 * --enable-debug-log means debug whatever else is said.
 */
function logging(raw: RawOptions): { logLevel: LogLevel; logFormat: LogFormat } {
  let logLevel = oneOf<LogLevel>(raw, 'logLevel', 'log-level', ['error', 'warn', 'info', 'debug']);
  let logFormat = oneOf<LogFormat>(raw, 'logFormat', 'log-format', ['json', 'text']);
  if (raw['zapDevel'] === true) {
    logLevel = 'debug';
    logFormat = 'text';
  }
  const encoder = text(raw, 'zapEncoder');
  if (encoder !== undefined) {
    if (encoder !== 'json' && encoder !== 'console')
      throw new ConfigError(`--zap-encoder: "${encoder}" must be json or console`);
    logFormat = encoder === 'json' ? 'json' : 'text';
  }
  const level = text(raw, 'zapLogLevel');
  if (level !== undefined) logLevel = zapLevel(level, 'zap-log-level');
  const stacktrace = text(raw, 'zapStacktraceLevel');
  if (stacktrace !== undefined) zapLevel(stacktrace, 'zap-stacktrace-level');
  const time = text(raw, 'zapTimeEncoding');
  const encodings = ['epoch', 'millis', 'nano', 'iso8601', 'rfc3339', 'rfc3339nano'];
  if (time !== undefined && !encodings.includes(time))
    throw new ConfigError(`--zap-time-encoding: "${time}" must be one of ${encodings.join(', ')}`);
  if (raw['enableDebugLog'] === true) logLevel = 'debug';
  return { logLevel, logFormat };
}

/** A zap level name, or a verbosity number as controller-runtime takes it (1 and up: debug). */
function zapLevel(value: string, flag: string): LogLevel {
  if (/^-?\d+$/.test(value)) return Number(value) > 0 ? 'debug' : 'info';
  const name = value.toLowerCase();
  if (!zapLevels.includes(name))
    throw new ConfigError(`--${flag}: "${value}" must be one of ${zapLevels.join(', ')}, or a number`);
  return name === 'debug' || name === 'info' || name === 'warn' ? name : 'error';
}

export function toConfig(raw: RawOptions): Config {
  const backend = required(raw, 'backend', 'backend');
  if (backend !== 'vault' && backend !== 'azure-kv')
    throw new ConfigError(`--backend: "${backend}" is not supported; choose vault or azure-kv`);
  if (backend !== 'vault' && text(raw, 'vaultAuthScope') === 'namespace')
    throw new ConfigError(
      '--vault.auth-scope namespace is a Vault setting: with --backend azure-kv one Azure identity reads for every namespace, and --access-policy is what keeps namespaces apart',
    );
  const reconcilePeriodMs = duration(raw, 'reconcilePeriod', 'reconcile-period');
  if (reconcilePeriodMs < minimumRefreshIntervalMs)
    throw new ConfigError(`--reconcile-period must be at least ${formatDuration(minimumRefreshIntervalMs)}`);
  const metricsText = required(raw, 'metricsAddr', 'metrics-addr');
  const metricsAddress = parseListenAddress(metricsText);
  if (!metricsAddress) throw new ConfigError(`--metrics-addr: "${metricsText}" must be host:port or :port`);
  const leaseDurationMs = duration(raw, 'leaderElectionLeaseDuration', 'leader-election-lease-duration');
  const controllerName = required(raw, 'controllerName', 'controller-name');
  return {
    reconcilePeriodMs,
    backend,
    vault: vaultConfig(raw, backend === 'vault'),
    ...(backend === 'azure-kv' ? { azureKv: azureKvConfig(raw) } : {}),
    metricsAddress,
    leaderElection: {
      enabled: raw['enableLeaderElection'] === true,
      namespace: required(raw, 'leaderElectionNamespace', 'leader-election-namespace'),
      name: required(raw, 'leaderElectionId', 'leader-election-id'),
      leaseDurationMs,
      renewDeadlineMs: Math.round((leaseDurationMs * 2) / 3),
      retryPeriodMs: Math.max(500, Math.round(leaseDurationMs / 7)),
    },
    watchNamespaces: list(raw, 'watchNamespaces'),
    excludeNamespaces: list(raw, 'excludeNamespaces'),
    controllerName,
    concurrency: integer(raw, 'concurrency', 'concurrency', 1, 256),
    rolloutRestart: {
      enabled: raw['rolloutRestart'] === true,
      minIntervalMs: atLeast(
        duration(raw, 'rolloutRestartInterval', 'rollout-restart-interval'),
        1_000,
        'rollout-restart-interval',
      ),
    },
    kubeApi: {
      qps: positive(raw, 'kubeApiQps', 'kube-api-qps'),
      burst: integer(raw, 'kubeApiBurst', 'kube-api-burst', 1),
    },
    ...logging(raw),
    ...optional('kubeconfig', text(raw, 'kubeconfig')),
    ...optional('accessPolicyFile', text(raw, 'accessPolicy')),
  };
}
