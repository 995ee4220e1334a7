// The operator's configuration: flag values (strings from commander) checked and turned into a
// typed Config, with each backend's settings read by its own module. Anything wrong is a
// ConfigError whose one-line message says what to fix.

import type { Backend } from './api/types.ts';
import { formatDuration } from './api/duration.ts';
import { minimumRefreshIntervalMs } from './api/validate.ts';
import type { LogFormat, LogLevel } from './observability/logger.ts';
import { parseListenAddress } from './observability/server.ts';
import {
  atLeast,
  ConfigError,
  duration,
  integer,
  list,
  oneOf,
  optional,
  positive,
  required,
  text,
  type RawOptions,
} from './option-values.ts';
import { azureKvConfig, type AzureKvConfig } from './providers/azure-kv/config.ts';
import { vaultConfig, type VaultConfig } from './providers/vault/config.ts';

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
  /** How long a replaced lease outlives the write of its successor (--lease-revoke-grace). */
  readonly leaseRevokeGraceMs: number;
  /** The Secret in the operator's namespace that keeps lease-issuing Vault tokens; undefined: off. */
  readonly leaseTokenSecret?: string;
  /** Client-side rate limit towards the apiserver: requests per second and burst. */
  readonly kubeApi: { readonly qps: number; readonly burst: number };
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly kubeconfig?: string;
  /** The access policy file; absent: every namespace may read every path. */
  readonly accessPolicyFile?: string;
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

const secretName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function leaseTokenSecret(raw: RawOptions): string | undefined {
  const name = text(raw, 'leaseTokenSecret');
  if (name === undefined || name === '') return undefined;
  if (!secretName.test(name))
    throw new ConfigError(
      `--lease-token-secret: "${name}" is not a Secret name (lowercase letters, digits, "-" and ".")`,
    );
  return name;
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
    leaseRevokeGraceMs: duration(raw, 'leaseRevokeGrace', 'lease-revoke-grace'),
    kubeApi: {
      qps: positive(raw, 'kubeApiQps', 'kube-api-qps'),
      burst: integer(raw, 'kubeApiBurst', 'kube-api-burst', 1),
    },
    ...logging(raw),
    ...optional('kubeconfig', text(raw, 'kubeconfig')),
    ...optional('accessPolicyFile', text(raw, 'accessPolicy')),
    ...optional('leaseTokenSecret', leaseTokenSecret(raw)),
  };
}
