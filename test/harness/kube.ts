// The Kubernetes half of the test stack: etcd, kube-apiserver and kube-controller-manager on
// loopback, an admin credential, service-account signing keys, and the objects Vault needs.

import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { http } from './http.ts';
import { startDaemon, waitUntilReady, type DaemonSpec, type RunningDaemon } from './processes.ts';

const exec = promisify(execFile);

export interface KubePorts {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
}

export interface KubeFiles {
  readonly kubeconfig: string;
  readonly caFile: string;
  readonly adminToken: string;
  readonly server: string;
}

export const vaultReviewer = { namespace: 'kube-system', serviceAccount: 'vault-token-reviewer' } as const;
export const operatorIdentity = { namespace: 'secrets-manager', serviceAccount: 'secrets-manager' } as const;

export function etcdSpec(dir: string, bin: string, ports: KubePorts): DaemonSpec {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return {
    name: 'etcd',
    command: bin,
    logFile: join(dir, 'logs', 'etcd.log'),
    args: [
      '--name=harness',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=harness=${peer}`,
      '--listen-metrics-urls=',
      // Test data is thrown away; fsync would only slow every write.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  };
}

export function apiserverSpec(dir: string, bin: string, ports: KubePorts): DaemonSpec {
  const pki = join(dir, 'pki');
  return {
    name: 'kube-apiserver',
    command: bin,
    logFile: join(dir, 'logs', 'kube-apiserver.log'),
    args: [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${pki}`,
      `--token-auth-file=${join(pki, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://127.0.0.1:${ports.apiserver}`,
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // No nodes and no pods here: nothing to reconcile the kubernetes Service's endpoints to.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      `--audit-policy-file=${join(pki, 'audit-policy.yaml')}`,
      `--audit-log-path=${apiserverAuditLog(dir)}`,
      '--audit-log-format=json',
      '--v=1',
    ],
  };
}

export function controllerManagerSpec(
  dir: string,
  bin: string,
  ports: KubePorts,
  files: KubeFiles,
): DaemonSpec {
  return {
    name: 'kube-controller-manager',
    command: bin,
    logFile: join(dir, 'logs', 'kube-controller-manager.log'),
    args: [
      `--kubeconfig=${files.kubeconfig}`,
      `--authentication-kubeconfig=${files.kubeconfig}`,
      `--authorization-kubeconfig=${files.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(dir, 'pki', 'kcm')}`,
      // The Deployment and StatefulSet controllers make a rollout restart visible (a new ReplicaSet,
      // a new ControllerRevision); no scheduler or kubelet runs, so no pod ever starts.
      '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,' +
        'serviceaccount-token-controller,root-ca-certificate-publisher-controller,' +
        'deployment-controller,statefulset-controller',
      `--service-account-private-key-file=${join(dir, 'pki', 'sa.key')}`,
      `--root-ca-file=${files.caFile}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
  };
}

/** Signing keys for service-account tokens and a static admin token in group system:masters. */
export async function writeCredentials(dir: string): Promise<string> {
  const pki = join(dir, 'pki');
  await mkdir(join(pki, 'kcm'), { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await writeFile(join(pki, 'sa.key'), privateKey, { mode: 0o600 });
  await writeFile(join(pki, 'sa.pub'), publicKey);
  const adminToken = randomBytes(24).toString('hex');
  await writeFile(join(pki, 'tokens.csv'), `${adminToken},harness-admin,harness-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  await writeFile(join(pki, 'audit-policy.yaml'), auditPolicy);
  return adminToken;
}

/**
 * The apiserver's audit log: one JSON line per write to a Secret, an Event, a Lease or a
 * SecretDefinition (its status included), with who sent it and when, and nothing of the body. The
 * soak reads it to hold the replicas to one writer at a time.
 */
export const apiserverAuditLog = (dir: string): string => join(dir, 'logs', 'kube-apiserver-audit.log');

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete]
    resources:
      - group: ""
        resources: [secrets, events]
      - group: coordination.k8s.io
        resources: [leases]
      - group: secrets-manager.tuenti.io
  - level: None
`;

export type PidTracker = (pid: number) => Promise<void>;

export async function startEtcd(
  dir: string,
  bin: string,
  ports: KubePorts,
  track: PidTracker,
): Promise<RunningDaemon> {
  const daemon = startDaemon(etcdSpec(dir, bin, ports));
  await track(daemon.pid);
  await waitUntilReady(daemon, () => etcdHealthy(ports), 60_000);
  return daemon;
}

export async function etcdHealthy(ports: KubePorts): Promise<boolean> {
  const res = await http(`http://127.0.0.1:${ports.etcdClient}/health`, { timeoutMs: 2_000 });
  return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
}

export async function startApiserver(
  dir: string,
  bin: string,
  ports: KubePorts,
  adminToken: string,
  track: PidTracker,
): Promise<{ daemon: RunningDaemon; files: KubeFiles }> {
  const daemon = startDaemon(apiserverSpec(dir, bin, ports));
  await track(daemon.pid);
  // The apiserver writes a self-signed CA and serving certificate into --cert-dir at start; the
  // certificate file carries that CA too, so it is the bundle clients trust.
  const caFile = join(dir, 'pki', 'apiserver.crt');
  const server = `https://127.0.0.1:${ports.apiserver}`;
  await waitUntilReady(daemon, () => apiserverReady(server, caFile, adminToken), 120_000);
  const files: KubeFiles = { kubeconfig: join(dir, 'kubeconfig'), caFile, adminToken, server };
  await writeKubeconfig(files);
  return { daemon, files };
}

export async function apiserverReady(server: string, caFile: string, token: string): Promise<boolean> {
  if (!existsSync(caFile)) return false;
  const res = await http(`${server}/readyz`, {
    ca: await readFile(caFile, 'utf8'),
    headers: { authorization: `Bearer ${token}` },
    timeoutMs: 5_000,
  });
  return res.status === 200;
}

/** Writes a kubeconfig for `server` (trusting `caFile`) that authenticates with a bearer `token`. */
export async function writeTokenKubeconfig(
  path: string,
  server: string,
  caFile: string,
  token: string,
): Promise<void> {
  const ca = (await readFile(caFile)).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'harness', cluster: { server, 'certificate-authority-data': ca } }],
    users: [{ name: 'user', user: { token } }],
    contexts: [{ name: 'harness', context: { cluster: 'harness', user: 'user' } }],
    'current-context': 'harness',
  };
  // JSON is YAML, and every kubeconfig reader accepts it.
  await writeFile(path, JSON.stringify(config, null, 2), { mode: 0o600 });
}

function writeKubeconfig(files: KubeFiles): Promise<void> {
  return writeTokenKubeconfig(files.kubeconfig, files.server, files.caFile, files.adminToken);
}

export async function startControllerManager(
  dir: string,
  bin: string,
  ports: KubePorts,
  files: KubeFiles,
  track: PidTracker,
): Promise<RunningDaemon> {
  const daemon = startDaemon(controllerManagerSpec(dir, bin, ports, files));
  await track(daemon.pid);
  await waitUntilReady(daemon, () => controllerManagerHealthy(ports), 60_000);
  return daemon;
}

export async function controllerManagerHealthy(ports: KubePorts): Promise<boolean> {
  // Its serving certificate is self-signed and /healthz needs no credential.
  const res = await http(`https://127.0.0.1:${ports.controllerManager}/healthz`, {
    insecure: true,
    timeoutMs: 2_000,
  });
  return res.status === 200;
}

/** The operator's namespace and service account, and a token-review identity for Vault. */
export async function bootstrapObjects(kubectl: string, files: KubeFiles): Promise<string> {
  const manifest = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: operatorIdentity.namespace } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: operatorIdentity.serviceAccount, namespace: operatorIdentity.namespace },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: vaultReviewer.serviceAccount, namespace: vaultReviewer.namespace },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'vault-token-reviewer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [
        { kind: 'ServiceAccount', name: vaultReviewer.serviceAccount, namespace: vaultReviewer.namespace },
      ],
    },
  ];
  await kubectlRun(
    kubectl,
    files,
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest }),
  );
  const token = await kubectlRun(kubectl, files, [
    'create',
    'token',
    vaultReviewer.serviceAccount,
    '-n',
    vaultReviewer.namespace,
    '--duration=8760h',
  ]);
  return token.trim();
}

/** Installs the repository's crd.yaml with a server-side apply, taking over its fields. */
export async function applyCrd(kubectl: string, files: KubeFiles): Promise<void> {
  const crd = join(import.meta.dirname, '..', '..', 'crd.yaml');
  await kubectlRun(kubectl, files, ['apply', '--server-side', '--force-conflicts', '-f', crd]);
}

export async function kubectlRun(
  kubectl: string,
  files: KubeFiles,
  args: readonly string[],
  stdin?: string,
): Promise<string> {
  const child = exec(kubectl, [`--kubeconfig=${files.kubeconfig}`, ...args], { maxBuffer: 16 * 1024 * 1024 });
  if (stdin !== undefined) child.child.stdin?.end(stdin);
  try {
    return (await child).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}
