// The operator's flags, in groups: the single definition used for parsing, --help and the flag
// table of docs/operating.md (npm run docs:flags), made of the operator's own and each backend's (src/providers/*/flags.ts).
// Every flag of the original secrets-manager is here with its name and env fallback.

import type { FlagSpec, SettingSource } from './flag-spec.ts';
import { azureKvFlags } from './providers/azure-kv/flags.ts';
import { vaultFlags } from './providers/vault/flags.ts';

export type { FlagSpec, SettingSource } from './flag-spec.ts';

const syncing: readonly FlagSpec[] = [
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
    description: 'How often each path is read again, unless a definition sets spec.refreshInterval',
  },
  {
    flag: 'config.backend-timeout',
    key: 'configBackendTimeout',
    value: 'duration',
    default: '5s',
    description: 'Timeout of each Vault or Azure Key Vault request',
  },
  {
    flag: 'access-policy',
    key: 'accessPolicy',
    value: 'file',
    description:
      'YAML rules of which Vault paths each namespace may read, re-read when the file changes; without it every namespace may read every path the operator can',
  },
  {
    flag: 'concurrency',
    key: 'concurrency',
    value: 'number',
    default: '4',
    description: 'SecretDefinitions reconciled at once',
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
];

/** Dynamic credentials' leases: Vault's alone, kept here since the controller holds them. */
const vaultLeases: readonly FlagSpec[] = [
  {
    flag: 'lease-revoke-grace',
    key: 'leaseRevokeGrace',
    value: 'duration',
    default: '10m',
    description:
      'How long the lease of replaced dynamic credentials lives on after the Secret holds new ones, so that the workloads using them can restart first; then it is revoked',
  },
  {
    flag: 'lease-token-secret',
    key: 'leaseTokenSecret',
    value: 'name',
    default: 'secrets-manager-lease-tokens',
    description:
      "The Secret in the operator's namespace (--leader-election-namespace) that keeps the Vault token which issued live dynamic credentials, so that after a restart or a change of leader it is renewed instead of every credential being issued again; empty turns it off",
  },
];

const kubernetes: readonly FlagSpec[] = [
  {
    flag: 'kubeconfig',
    key: 'kubeconfig',
    connection: true,
    value: 'path',
    // Not the flag's env: KUBECONFIG is a list of files, merged as kubectl merges them.
    description:
      'Kubeconfig to use; without it the files KUBECONFIG lists (merged), else in a Pod its service account, else ~/.kube/config (as controller-runtime)',
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
];

const leaderElection: readonly FlagSpec[] = [
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
];

const logging: readonly FlagSpec[] = [
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
];

const metrics: readonly FlagSpec[] = [
  {
    flag: 'metrics-addr',
    key: 'metricsAddr',
    value: 'address',
    default: ':8080',
    description: 'Address of /metrics, /healthz and /readyz',
  },
];

/** A heading of --help and of the flag table in docs/operating.md, with its flags in order. */
export interface FlagGroup {
  readonly title: string;
  readonly flags: readonly FlagSpec[];
}

/** Every flag, once, under the heading a user looks for it by. */
export const flagGroups: readonly FlagGroup[] = [
  { title: 'Syncing', flags: syncing },
  { title: 'Vault', flags: [...vaultFlags, ...vaultLeases] },
  { title: 'Azure Key Vault', flags: azureKvFlags },
  { title: 'Kubernetes', flags: kubernetes },
  { title: 'Leader election', flags: leaderElection },
  { title: 'Logging', flags: logging },
  { title: 'Metrics', flags: metrics },
];

export const flags: readonly FlagSpec[] = flagGroups.flatMap((group) => group.flags);

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
    if (!spec.connection || spec.flag.startsWith(other)) continue;
    if (source === undefined || source === 'unset') continue;
    described.push(`--${spec.flag} from ${source === 'env' ? `env ${spec.env ?? ''}` : source}`);
  }
  return described;
}
