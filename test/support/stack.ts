// What an integration test needs from the shared real stack: clients, a fresh namespace, Vault
// admin calls, kubectl, and a way to wait on a condition with a deadline.

import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { http } from '../harness/http.ts';
import { kubectlRun } from '../harness/kube.ts';
import { readState, startOneAgain, stopOne, type DaemonName, type StackState } from '../harness/stack.ts';
import { VaultAdmin } from '../harness/vault.ts';

export { waitFor } from './wait.ts';

export const stackStateVariable = 'SECRETS_MANAGER_TEST_STACK';

export interface TestStack {
  readonly state: StackState;
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly vault: VaultAdmin;
}

let cached: Promise<TestStack> | undefined;

async function load(): Promise<TestStack> {
  const file = process.env[stackStateVariable];
  if (!file) {
    throw new Error(
      `${stackStateVariable} is not set: run integration tests through 'npm run test:integration', ` +
        'whose global setup starts the stack',
    );
  }
  const state = await readState(file.replace(/\/state\.json$/, ''));
  if (!state) throw new Error(`no stack state at ${file}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kube.kubeconfig);
  return {
    state,
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    vault: new VaultAdmin(state.vault.addr, state.vault.rootToken),
  };
}

/** The stack this test run shares, with clients made once per test process. */
export function testStack(): Promise<TestStack> {
  cached ??= load();
  return cached;
}

/** A namespace of this test's own, deleted (without waiting) when the test ends. */
export async function freshNamespace(t: TestContext, prefix = 't'): Promise<string> {
  const { core } = await testStack();
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  t.after(async () => {
    await core.deleteNamespace({ name }).catch(() => undefined);
  });
  return name;
}

/** Runs the stack's kubectl with its admin kubeconfig; rejects with kubectl's own message. */
export async function kubectl(args: readonly string[], stdin?: string): Promise<string> {
  const { state } = await testStack();
  return kubectlRun(state.binaries.kubectl, state.kube, args, stdin);
}

/** The HTTP status of a Kubernetes client error, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Stops one daemon of the shared stack; its data stays for `startStackDaemon`. Integration test
 * files run one at a time, so this disturbs no other test.
 */
export async function stopStackDaemon(name: DaemonName): Promise<void> {
  await stopOne((await testStack()).state, name);
}

/** Starts a daemon stopped by `stopStackDaemon` again and waits until it serves. */
export async function startStackDaemon(name: DaemonName): Promise<void> {
  const stack = await testStack();
  const state = await startOneAgain(stack.state, name);
  cached = Promise.resolve({ ...stack, state });
}

export interface VaultResponse {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** One Vault API call with the given token (or none), answering status and body whatever they are. */
export async function vaultRequest(
  method: string,
  path: string,
  options: { readonly token?: string; readonly body?: unknown } = {},
): Promise<VaultResponse> {
  const { state } = await testStack();
  const res = await http(`${state.vault.addr}/v1/${path}`, {
    method,
    ...(options.token === undefined ? {} : { headers: { 'x-vault-token': options.token } }),
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: res.status, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
}
