// The command line: `secrets-manager [run]`, `validate FILE...` and `version`. Every flag of the
// original secrets-manager is here with its name and env fallback; the table below is the one
// definition of the flags, used for parsing, --help and the README.

import type { CommanderError, ParseOptions } from 'commander';
import { Command, Option } from 'commander';
import { ConfigError } from './config.ts';

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
    description: 'Secrets backend; vault is the only one (the original azure-kv is not supported)',
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
    description: 'Timeout of each Vault request',
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
    description: 'Name this instance reports in Events and logs',
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
    env: 'KUBECONFIG',
    description: 'Kubeconfig to use outside a cluster; in a pod the service account is used',
  },
];

/** The settings that say where the operator connects and as whom: their sources are logged at start. */
const connectionFlags = [
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
export function connectionSources(sources: Readonly<Record<string, SettingSource>>): string[] {
  const described: string[] = [];
  for (const spec of flags) {
    const source = sources[spec.key];
    if (!connectionFlags.includes(spec.flag) || source === undefined || source === 'unset') continue;
    described.push(`--${spec.flag} from ${source === 'env' ? `env ${spec.env ?? ''}` : source}`);
  }
  return described;
}

export interface CliActions {
  run(
    options: Readonly<Record<string, string | boolean | undefined>>,
    sources: Readonly<Record<string, SettingSource>>,
  ): Promise<void>;
  validate(files: readonly string[]): Promise<number>;
  version(): string;
}

function toOption(spec: FlagSpec): Option {
  const option = new Option(
    spec.value ? `--${spec.flag} <${spec.value}>` : `--${spec.flag}`,
    spec.description,
  );
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.env) option.env(spec.env);
  return option;
}

const goTrue = ['1', 't', 'T', 'true', 'TRUE', 'True'];
const goFalse = ['0', 'f', 'F', 'false', 'FALSE', 'False'];

/**
 * The command line as Go's flag package reads it, rewritten for commander: the original's
 * manifests say `-vault.url=https://...`, `-reconcile-period 5s` or `-enable-leader-election=false`.
 * For every known flag, one or two dashes; `-name=value` or `-name value` (the next argument is the
 * value, whatever it looks like, as in Go); a boolean alone, or `=true`/`=false` in any of Go's
 * spellings (the last one given wins). Anything else, `--` and what follows it, passes unchanged.
 */
export function goStyleArgs(argv: readonly string[]): string[] {
  const byName = new Map(flags.map((spec) => [spec.flag, spec]));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const match = /^--?([^-=][^=]*)(?:=([\s\S]*))?$/.exec(arg);
    const name = match?.[1];
    if (name === 'help') {
      out.push('--help');
      continue;
    }
    const spec = name === undefined ? undefined : byName.get(name);
    if (!match || !spec) {
      out.push(arg);
      continue;
    }
    const value = match[2];
    if (!spec.value) {
      // A boolean: set, or not. Go's last word wins, so an earlier setting is taken back.
      const on = value === undefined || goTrue.includes(value);
      if (!on && !goFalse.includes(value ?? '')) {
        throw new ConfigError(`-${spec.flag}: "${value ?? ''}" is not a boolean (true or false)`);
      }
      for (let j = out.length - 1; j >= 0; j -= 1) if (out[j] === `--${spec.flag}`) out.splice(j, 1);
      if (on) out.push(`--${spec.flag}`);
    } else if (value !== undefined) {
      out.push(`--${spec.flag}=${value}`);
    } else if (i + 1 < argv.length) {
      out.push(`--${spec.flag}=${argv[i + 1] ?? ''}`);
      i += 1;
    } else {
      out.push(`--${spec.flag}`); // commander says the value is missing
    }
  }
  return out;
}

/** A program that reads its command line the way Go's flag package would (goStyleArgs). */
class GoStyleCommand extends Command {
  override parseAsync(argv?: readonly string[], options?: ParseOptions): Promise<this> {
    const all = argv ?? process.argv;
    // The first two are node and the script, unless told the arguments are the user's alone.
    const skip = options?.from === 'user' ? 0 : 2;
    return super.parseAsync([...all.slice(0, skip), ...goStyleArgs(all.slice(skip))], options);
  }
}

export function buildProgram(actions: CliActions): Command {
  const program = new GoStyleCommand('secrets-manager')
    .description('Keeps Kubernetes Secrets in sync with HashiCorp Vault and OpenBao')
    .version(actions.version(), '--version', 'Print the version')
    .showHelpAfterError(false)
    .exitOverride();
  // The flags belong to the program alone, and commander reads a program's options before and
  // after a subcommand: `secrets-manager --x 1`, `secrets-manager run --x 1` and
  // `secrets-manager --x 1 run` are one parse with one result. (Registered on `run` as well, the
  // program took them and `run` acted on its defaults.)
  const run = new Command('run')
    .description(
      'Run the operator (the default command); it takes every flag that secrets-manager --help lists',
    )
    .exitOverride();
  const options = flags.map(toOption);
  for (const option of options) program.addOption(option);
  const collect = (): [Record<string, string | boolean | undefined>, Record<string, SettingSource>] => {
    const values = program.opts<Record<string, string | boolean | undefined>>();
    const settings: Record<string, string | boolean | undefined> = {};
    const sources: Record<string, SettingSource> = {};
    flags.forEach((spec, i) => {
      const attribute = options[i]?.attributeName() ?? '';
      const fromEnv = spec.env ? process.env[spec.env] : undefined;
      if (spec.envWins && fromEnv !== undefined && fromEnv !== '') {
        settings[spec.key] = fromEnv;
        sources[spec.key] = 'env';
        return;
      }
      settings[spec.key] = values[attribute];
      const source = program.getOptionValueSource(attribute);
      sources[spec.key] =
        source === 'cli' ? 'flag' : source === 'env' ? 'env' : source === 'default' ? 'default' : 'unset';
    });
    return [settings, sources];
  };
  run.action(async () => actions.run(...collect()));
  program.action(async () => actions.run(...collect()));
  program.addCommand(run);
  program.addCommand(
    new Command('validate')
      .description("Check SecretDefinition manifests offline with the operator's own rules")
      .argument('<files...>', 'YAML files, each with one or more documents')
      .exitOverride()
      .action(async (files: string[]) => {
        process.exitCode = await actions.validate(files);
      }),
  );
  program.addCommand(
    new Command('version')
      .description('Print the version')
      .exitOverride()
      .action(() => {
        process.stdout.write(`${actions.version()}\n`);
      }),
  );
  return program;
}

/** Exit code for a commander error: help and version are fine, anything else is a usage error. */
export function exitCodeOf(error: CommanderError): number {
  return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? 0 : 2;
}
