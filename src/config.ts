// The operator's configuration: flag values (strings from commander) checked and turned into a
// typed Config. Anything wrong is a ConfigError whose one-line message says what to fix.

import { formatDuration, parseDuration } from './api/duration.ts';
import { minimumRefreshIntervalMs } from './api/validate.ts';
import type { LogFormat, LogLevel } from './observability/logger.ts';
import { parseListenAddress } from './observability/server.ts';
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

export interface Config {
  readonly reconcilePeriodMs: number;
  readonly vault: VaultConfig;
  readonly metricsAddress: { readonly host: string | undefined; readonly port: number };
  readonly leaderElection: LeaderElectionConfig;
  readonly watchNamespaces: readonly string[];
  readonly excludeNamespaces: readonly string[];
  readonly controllerName: string;
  readonly concurrency: number;
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

function vaultConfig(raw: RawOptions): VaultConfig {
  const address = required(raw, 'vaultUrl', 'vault.url');
  if (!/^https?:\/\/[^/\s]+/.test(address))
    throw new ConfigError(`--vault.url: "${address}" must be an http:// or https:// URL`);
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
  // In namespace scope the operator never logs in as itself: its own credentials are not needed.
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
  if (backend !== 'vault')
    throw new ConfigError(`--backend: "${backend}" is not supported; the only backend is vault`);
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
    vault: vaultConfig(raw),
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
    kubeApi: {
      qps: positive(raw, 'kubeApiQps', 'kube-api-qps'),
      burst: integer(raw, 'kubeApiBurst', 'kube-api-burst', 1),
    },
    ...logging(raw),
    ...optional('kubeconfig', text(raw, 'kubeconfig')),
    ...optional('accessPolicyFile', text(raw, 'accessPolicy')),
  };
}
