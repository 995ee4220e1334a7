// The Vault settings: the --vault.* flags (and --config.backend-timeout), checked and typed.
// Checked in full only with --backend vault: another backend reads no Vault setting.

import {
  ConfigError,
  duration,
  integer,
  oneOf,
  optional,
  positive,
  required,
  text,
  withoutUserInfo,
  type RawOptions,
} from '../../option-values.ts';
import { parseListenAddress } from '../../observability/server.ts';
import type { EngineMode } from './kv.ts';

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
  /**
   * --vault.audit-listen: where Vault's socket audit device connects (undefined: off), and
   * --vault.audit-refresh-interval: the least refresh interval while it is connected.
   */
  readonly auditListen?: {
    readonly host: string | undefined;
    readonly port: number;
    readonly refreshIntervalMs: number;
  };
}

const namespacePlaceholder = '{namespace}';

function auditListen(raw: RawOptions): {
  auditListen?: { host: string | undefined; port: number; refreshIntervalMs: number };
} {
  const value = text(raw, 'vaultAuditListen');
  if (value === undefined || value === '') return {};
  const address = parseListenAddress(value);
  if (!address || address.port === 0)
    throw new ConfigError(`--vault.audit-listen: "${value}" must be host:port or :port`);
  return {
    auditListen: {
      ...address,
      refreshIntervalMs: duration(raw, 'vaultAuditRefreshInterval', 'vault.audit-refresh-interval'),
    },
  };
}

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

export function vaultConfig(raw: RawOptions, checkCredentials: boolean): VaultConfig {
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
    ...auditListen(raw),
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
