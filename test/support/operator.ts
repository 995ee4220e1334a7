// Runs the real operator (node src/main.ts) against the shared stack, as a user would from the
// command line, and gives tests its logs, its metrics and a way to stop it.

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { apiVersion, group, kind, plural, version } from '../../src/api/types.ts';
import { http } from '../harness/http.ts';
import { freePorts } from '../harness/processes.ts';
import { kubectl, testStack } from './stack.ts';
import { waitFor } from './wait.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningOperator {
  readonly metricsUrl: string;
  /** Everything the operator printed so far. */
  logs(): string;
  metrics(): Promise<string>;
  /** SIGTERM, then wait for exit; answers the exit code. */
  stop(): Promise<number | null>;
  /** Settles with the exit code once the process has exited and its output is read to the end. */
  readonly exited: Promise<number | null>;
  readonly process: ChildProcess;
}

let crdReady: Promise<void> | undefined;

/** Installs crd.yaml (once per test process) and waits until it is Established. */
export function ensureCrd(): Promise<void> {
  crdReady ??= (async () => {
    const { kubeConfig } = await testStack();
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crd.yaml')]);
    const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
    await waitFor('the SecretDefinition CRD to be Established', async () => {
      const crd = await api.readCustomResourceDefinition({ name: `${plural}.${group}` });
      return (
        crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') || undefined
      );
    });
  })();
  return crdReady;
}

export interface OperatorOptions {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** false: no --kubeconfig, so the operator finds the stack through `env` (KUBECONFIG). */
  readonly kubeconfigFlag?: boolean;
}

/** What a process of ours runs with against the stack: a PATH, a HOME and the AppRole credentials. */
export async function operatorEnv(): Promise<Record<string, string>> {
  const { state } = await testStack();
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    VAULT_ROLE_ID: state.vault.approle.roleId,
    VAULT_SECRET_ID: state.vault.approle.secretId,
  };
}

/** Starts the operator with approle credentials and the stack's kubeconfig; stopped after the test. */
export async function startOperator(t: TestContext, options: OperatorOptions = {}): Promise<RunningOperator> {
  await ensureCrd();
  const { state } = await testStack();
  const [port] = await freePorts(1);
  const metricsUrl = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'src', 'main.ts'),
      `--metrics-addr=127.0.0.1:${port}`,
      ...(options.kubeconfigFlag === false ? [] : [`--kubeconfig=${state.kube.kubeconfig}`]),
      `--vault.url=${state.vault.addr}`,
      '--log-format=json',
      '--reconcile-period=2s',
      ...(options.args ?? []),
    ],
    {
      cwd: repoRoot,
      env: { ...(await operatorEnv()), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close' comes after the output is read to its end, so logs() is complete once stop() answers.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const operator: RunningOperator = {
    metricsUrl,
    logs: () => output,
    metrics: async () => (await http(`${metricsUrl}/metrics`)).body,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    process: child,
    exited,
  };
  t.after(async () => {
    const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await operator.stop();
    clearTimeout(timeout);
  });
  return operator;
}

/** Waits until the operator's /readyz says ok. */
export async function waitReady(operator: RunningOperator, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    'the operator to be ready',
    async () => {
      if (operator.process.exitCode !== null)
        throw new Error(
          `the operator exited with ${operator.process.exitCode}: ${operator.logs().slice(-1500)}`,
        );
      return (await http(`${operator.metricsUrl}/readyz`)).status === 200 || undefined;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    // The logs as they are when the wait gave up, not as they were when it began.
    throw new Error(
      `${(error as Error).message}; the operator's last logs: ${operator.logs().slice(-1500)}`,
      {
        cause: error,
      },
    );
  });
}

export interface DefinitionSpec {
  readonly name: string;
  readonly type?: string;
  readonly keysMap?: Record<
    string,
    { path: string; key: string; encoding?: string; version?: number | string }
  >;
  readonly dataFrom?: { path: string; version?: number | string }[];
  readonly refreshInterval?: string;
  readonly deletionPolicy?: 'Delete' | 'Retain';
  readonly template?: { data: Record<string, string>; mergePolicy?: 'Replace' | 'Merge' };
  readonly rolloutRestartTargets?: { kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'; name: string }[];
  readonly pki?: {
    path: string;
    commonName: string;
    altNames?: string[];
    ipSans?: string[];
    ttl?: string;
    renewBefore?: string;
  };
  readonly dynamic?: {
    path: string;
    method?: 'GET' | 'POST';
    params?: Record<string, string>;
    renewPercent?: number;
    revokeOnDelete?: boolean;
  };
}

function customObjects(): Promise<CustomObjectsApi> {
  return testStack().then(({ kubeConfig }) => kubeConfig.makeApiClient(CustomObjectsApi));
}

export async function applyDefinition(
  namespace: string,
  name: string,
  spec: DefinitionSpec,
  metadata: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
  } = {},
): Promise<void> {
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion,
      kind,
      metadata: { name, namespace, ...metadata },
      spec,
    }),
  );
}

/** A definition whose Secret key `p` takes key `password` of one Vault path. */
export async function applyPasswordDefinition(namespace: string, name: string, path: string): Promise<void> {
  await applyDefinition(namespace, name, { name, keysMap: { p: { path, key: 'password' } } });
}

export async function deleteDefinition(namespace: string, name: string): Promise<void> {
  const api = await customObjects();
  await api.deleteNamespacedCustomObject({ group, version, plural, namespace, name });
}

export interface DefinitionStatus {
  readonly pki?: { serialNumber: string; notAfter: string; nextRenewal: string };
  readonly dynamic?: {
    issuedAt: string;
    leaseDurationSeconds: number;
    leaseExpiresAt: string;
    nextRenewal: string;
  };
  readonly observedGeneration?: number;
  readonly secretName?: string;
  readonly lastSyncTime?: string;
  readonly conditions?: {
    type: string;
    status: string;
    reason: string;
    message: string;
    lastTransitionTime: string;
    observedGeneration?: number;
  }[];
}

export async function readDefinition(
  namespace: string,
  name: string,
): Promise<{ metadata: Record<string, unknown>; status?: DefinitionStatus }> {
  const api = await customObjects();
  return (await api.getNamespacedCustomObject({ group, version, plural, namespace, name })) as {
    metadata: Record<string, unknown>;
    status?: DefinitionStatus;
  };
}

/**
 * Waits until the definition's Ready condition, written for its current generation, has `status`
 * (and `reason`, if given); answers the condition.
 */
export async function waitForReady(
  namespace: string,
  name: string,
  status: 'True' | 'False',
  reason?: string,
  timeoutMs = 30_000,
) {
  return waitFor(
    `SecretDefinition ${namespace}/${name} to be Ready=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const definition = await readDefinition(namespace, name);
      const ready = definition.status?.conditions?.find((c) => c.type === 'Ready');
      // A condition left from an earlier spec says nothing about the current one.
      const current = ready?.observedGeneration === definition.metadata.generation;
      return ready && current && ready.status === status && (!reason || ready.reason === reason)
        ? ready
        : undefined;
    },
    timeoutMs,
  );
}

/** The Secret's data, decoded; undefined if there is no such Secret. */
export async function secretData(
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  const { core } = await testStack();
  try {
    const secret = await core.readNamespacedSecret({ namespace, name });
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return undefined;
    throw error;
  }
}

/** Writes a KV v2 secret with the stack's root token. */
export async function putKv2(path: string, data: Record<string, unknown>): Promise<void> {
  const { vault } = await testStack();
  const [mount, ...rest] = path.split('/');
  await vault.call('POST', `${mount}/data/${rest.join('/')}`, { data });
}

export async function putKv1(path: string, data: Record<string, unknown>): Promise<void> {
  const { vault } = await testStack();
  await vault.call('POST', path, data);
}

/** Waits until key `key` of the Secret holds `value` (undefined: until the key is gone). */
export async function waitForSecretValue(
  namespace: string,
  name: string,
  key: string,
  value: string | undefined,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `${key}=${value ?? '(absent)'} in Secret ${namespace}/${name}`,
    async () => ((await secretData(namespace, name))?.[key] === value ? true : undefined),
    timeoutMs,
  );
}
