// `secrets-manager explain`: the shell around the pure judgement. It loads the definition (from the
// cluster, or a file), the access policy, the Kubernetes client and the provider the operator
// would use with these flags, gathers, judges and prints. It never writes: no Secret, status,
// Event or Lease, no issued certificate or lease, no audit listener, no lease-token Secret.

import { backendWords } from '../api/backends.ts';
import type { SecretDefinition } from '../api/types.ts';
import { parseSecretDefinition } from '../api/validate.ts';
import { systemClock } from '../clock.ts';
import { toConfig, type Config } from '../config.ts';
import { inThreadRenderer } from '../controller/template.ts';
import { kubeApi } from '../kube/kube-api.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import type { RawOptions } from '../option-values.ts';
import type { VaultConfig } from '../providers/vault/config.ts';
import { allowAll } from '../policy/access-policy.ts';
import { PolicyFile, PolicyFileError } from '../policy/policy-file.ts';
import { createProvider } from '../wiring/provider.ts';
import { explain, type Explanation } from './explanation.ts';
import { CouldNotCheck } from './could-not-check.ts';
import { deletingExplanation } from './deleting.ts';
import { formatJson } from './format-json.ts';
import { formatText } from './format-text.ts';
import { gather, readLive } from './gather.ts';
import { identityOf, identityText } from './identity.ts';
import type { DefinitionOrigin } from './inputs.ts';
import { invalidExplanation, type InvalidDefinition } from './invalid.ts';
import { fileDocument, loadDefinition, type FileDocument } from './definition-source.ts';
import { printable } from './printable.ts';
import { userMessage } from './user-message.ts';
import { parseTarget, UsageError, type ExplainTarget } from './target.ts';

/** The field manager of the operator's applies (app.ts): what it wrote is read as its own. */
const fieldManager = 'secrets-manager';

export interface ExplainOptions {
  /** NAMESPACE/NAME; with a file, the document to pick. */
  readonly definition?: string;
  readonly file?: string;
  /** The namespace of a file's definition that names none. */
  readonly namespace?: string;
  readonly output: 'text' | 'json';
}

export interface Output {
  write(text: string): Promise<void>;
}

/** The operator's settings less what would listen or write: the audit socket, the lease-token Secret. */
function readOnly(config: Config): Config {
  const vault: VaultConfig = { ...config.vault };
  const rest: Config = { ...config, vault };
  Reflect.deleteProperty(vault, 'auditListen');
  Reflect.deleteProperty(rest, 'leaseTokenSecret');
  return rest;
}

/**
 * The definition, or why the operator cannot read it: a file's mistakes are a usage error (its
 * author is at hand), the cluster's definition's are its InvalidSpec verdict.
 */
function checked(
  raw: unknown,
  config: Config,
  origin: DefinitionOrigin,
): { valid: true; definition: SecretDefinition } | { valid: false; invalid: InvalidDefinition } {
  const parsed = parseSecretDefinition(raw, { backend: config.backend });
  if (parsed.valid) return parsed;
  const { namespace, name } = parsed.metadata;
  if (origin.kind === 'file')
    throw new UsageError(
      `SecretDefinition ${namespace}/${name} is invalid (its Ready condition would say InvalidSpec); fix: ${parsed.problems.join('; ')}`,
    );
  const spec = (raw as { spec?: unknown } | undefined)?.spec;
  return { valid: false, invalid: { metadata: parsed.metadata, spec, problems: parsed.problems } };
}

function watches(config: Config, namespace: string): boolean {
  const { watchNamespaces, excludeNamespaces } = config;
  return (
    (watchNamespaces.length === 0 || watchNamespaces.includes(namespace)) &&
    !excludeNamespaces.includes(namespace)
  );
}

async function openPolicyFile(config: Config, logger: Logger) {
  if (!config.accessPolicyFile) return undefined;
  try {
    // Read once: explain takes the policy as it is now, and does not watch the file.
    return await PolicyFile.open({
      path: config.accessPolicyFile,
      logger,
      checkEveryMs: 60_000,
      onChange: () => undefined,
      flatNames: config.backend === 'azure-kv',
    });
  } catch (error) {
    if (error instanceof PolicyFileError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Explains one definition; answers the exit code: 0 it would sync, 1 it would not, 2 a usage
 * error, 3 it could not explain (its own reads were refused or failed).
 */
export async function runExplain(
  options: ExplainOptions,
  settings: RawOptions,
  io: {
    readonly stdout: Output;
    readonly stderr: Output;
    /** What `-f -` reads. */
    readonly stdin: AsyncIterable<Uint8Array | string>;
  },
): Promise<number> {
  const fail = async (message: string, code: number): Promise<number> => {
    await io.stderr.write(`secrets-manager explain: ${printable(message)}\n`);
    return code;
  };
  let target: ExplainTarget;
  let config: Config;
  let document: FileDocument | undefined;
  try {
    target = parseTarget(options.definition, options.file, options.namespace);
    document = target.kind === 'file' ? await fileDocument(target, options.namespace, io.stdin) : undefined;
    config = readOnly(toConfig(settings));
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error), 2);
  }
  // Only what goes wrong reaches the log (stderr): stdout is the explanation's.
  const logger = createLogger({
    level: config.logLevel === 'debug' ? 'debug' : 'error',
    format: config.logFormat,
  });
  let loaded: ReturnType<typeof loadKubeConfig>;
  try {
    loaded = loadKubeConfig({
      ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
      execFailed: (message, fields) => logger.warn(message, fields),
    });
  } catch (error) {
    return fail(`no Kubernetes connection: ${userMessage(error)}`, 2);
  }
  const kube = kubeApi(loaded.kubeConfig);
  const contextNamespace = loaded.kubeConfig.getContextObject(
    loaded.kubeConfig.getCurrentContext(),
  )?.namespace;
  const identity = identityOf(config, loaded);
  let stopProvider = async (): Promise<void> => undefined;
  try {
    const { raw, origin } = await loadDefinition(target, document, kube, options.namespace, contextNamespace);
    const policyFile = await openPolicyFile(config, logger);
    const policy =
      policyFile && config.accessPolicyFile
        ? { file: config.accessPolicyFile, rules: policyFile.policy.rules.length }
        : undefined;
    const print = async (explanation: Explanation): Promise<number> => {
      await io.stdout.write(options.output === 'json' ? formatJson(explanation) : formatText(explanation));
      return explanation.wouldSync ? 0 : 1;
    };
    const parsed = checked(raw, config, origin);
    if (!parsed.valid) {
      const { namespace } = parsed.invalid.metadata;
      return await print(
        invalidExplanation(parsed.invalid, {
          ...{ origin, identity, backend: config.backend, policy, watched: watches(config, namespace) },
          rolloutRestart: config.rolloutRestart.enabled,
        }),
      );
    }
    const { definition } = parsed;
    const watched = watches(config, definition.metadata.namespace);
    if (definition.metadata.deletionTimestamp !== undefined) {
      // As the operator: a definition being deleted is finalized, not synced; nothing is read for it.
      const live = await readLive({ kube, fieldManager }, definition);
      return await print(
        deletingExplanation(definition, live, {
          ...{ origin, identity, backend: config.backend, policy, watched },
          rolloutRestart: config.rolloutRestart.enabled,
        }),
      );
    }
    const provider = await createProvider(
      config,
      {
        ...{ clock: systemClock, random: Math.random, metrics: new Metrics(), logger },
        signal: () => undefined,
        changed: () => undefined,
        stretchChanged: () => undefined,
      },
      kube,
    );
    // A login of explain's own (a namespace's, in namespace scope) is revoked when it ends; a token
    // it was given (--vault.token) is not its to revoke, and the token manager knows not to.
    stopProvider = () => provider.stop();
    // As the informer would: namespace scope makes an identity only for a namespace with definitions.
    provider.definitionAdded(definition.metadata.namespace);
    const gathered = await gather(
      {
        kube,
        fieldManager,
        backend: config.backend,
        sources: provider.sources(definition.metadata.namespace),
        access: policyFile?.policy ?? allowAll,
        intervalMs: definition.spec.refreshIntervalMs ?? config.reconcilePeriodMs,
        rolloutRestart: config.rolloutRestart.enabled,
      },
      definition,
      await inThreadRenderer(),
    );
    const explanation = await explain({
      ...gathered,
      origin,
      identity,
      policy,
      watched,
      defaultRefreshMs: config.reconcilePeriodMs,
    });
    return await print(explanation);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, 2);
    const asked = `asked as ${identityText(identity, backendWords[config.backend].name)}`;
    if (error instanceof CouldNotCheck) return fail(`${error.message}; ${asked}`, 3);
    return fail(`${userMessage(error)}; ${asked}`, 3);
  } finally {
    await stopProvider().catch(() => undefined);
    await loaded.kubeConfig.close();
  }
}
