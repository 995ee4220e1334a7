// The Helm chart: it lints, renders what a platform team expects, installs into the real
// apiserver, and its RBAC is enough for the operator (run with the chart's service-account token)
// to sync, cluster-wide and namespaced, while the namespaced mode cannot read other namespaces.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseAccessPolicy } from '../../src/policy/access-policy.ts';
import { writeTokenKubeconfig } from '../harness/kube.ts';
import {
  applyDefinition,
  ensureCrd,
  putKv2,
  secretData,
  startOperator,
  waitForReady,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, kubectl, testStack } from '../support/stack.ts';
import { noVaultEnv, parseRun, withEnv } from '../support/cli-config.ts';
import { setupVaultTenants } from '../support/vault-tenants.ts';
import { waitRevisions, workload } from '../support/workloads.ts';

const exec = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chart = join(repoRoot, 'charts', 'secrets-manager');

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

async function helm(args: readonly string[]): Promise<string> {
  const { state } = await testStack();
  try {
    return (
      await exec(state.binaries.helm, [...args, `--kubeconfig=${state.kube.kubeconfig}`], {
        maxBuffer: 16 * 1024 * 1024,
      })
    ).stdout;
  } catch (error) {
    throw new Error(`helm ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
      cause: error,
    });
  }
}

async function render(...set: string[]): Promise<K8sObject[]> {
  const out = await helm([
    'template',
    'sm',
    chart,
    '--namespace',
    'secrets-manager',
    ...set.flatMap((s) => ['--set', s]),
  ]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** Renders with a values file, for values --set cannot spell (lists of objects). */
async function renderValues(t: TestContext, values: unknown): Promise<K8sObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'helm-values-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'values.yaml');
  await writeFile(file, JSON.stringify(values));
  const out = await helm(['template', 'sm', chart, '--namespace', 'secrets-manager', '-f', file]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function deploymentOf(objects: K8sObject[]) {
  const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
    spec: {
      replicas: number;
      template: {
        spec: Record<string, unknown> & {
          containers: Record<string, unknown>[];
          securityContext: Record<string, unknown>;
        };
      };
    };
  };
  assert.ok(deployment, 'a Deployment is rendered');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0] as {
    args: string[];
    securityContext: Record<string, unknown>;
    env?: unknown[];
    livenessProbe: unknown;
    readinessProbe: unknown;
  };
  return { deployment, pod, container };
}

/** Whether the pod mounts a Secret or ConfigMap volume that holds `file` at that path. */
function servesFile(pod: Record<string, unknown>, container: object, file: string): boolean {
  type Source = { items?: { key: string; path: string }[] };
  const volumes = (pod['volumes'] ?? []) as { name: string; secret?: Source; configMap?: Source }[];
  const mounts = ((container as { volumeMounts?: unknown }).volumeMounts ?? []) as {
    name: string;
    mountPath: string;
  }[];
  return mounts.some((mount) => {
    if (!file.startsWith(`${mount.mountPath}/`)) return false;
    const name = file.slice(mount.mountPath.length + 1);
    const volume = volumes.find((v) => v.name === mount.name);
    const source = volume?.secret ?? volume?.configMap;
    // Without items every key is a file of its own name (the access policy's policy.yaml).
    return source !== undefined && (source.items?.some((item) => item.path === name) ?? true);
  });
}

describe('the chart renders', () => {
  test('it lints, and its CRD is the top-level crd.yaml', async () => {
    assert.match(await helm(['lint', chart]), /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.equal(
      await readFile(join(chart, 'crds', 'crd.yaml'), 'utf8'),
      await readFile(join(repoRoot, 'crd.yaml'), 'utf8'),
    );
  });

  test('a restrictive Deployment whose values become flags, with probes on the real endpoints', async () => {
    const { pod, container } = deploymentOf(
      await render(
        'vault.address=https://vault.example:8200',
        'reconcilePeriod=30s',
        'concurrency=8',
        'kubeApi.qps=40',
        'kubeApi.burst=80',
        'vault.qps=120',
      ),
    );
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    for (const flag of [
      '--vault.url=https://vault.example:8200',
      '--vault.auth-method=kubernetes',
      '--reconcile-period=30s',
      '--concurrency=8',
      '--kube-api-qps=40',
      '--kube-api-burst=80',
      '--vault.qps=120',
      '--vault.burst=500',
      '--enable-leader-election',
      '--leader-election-id=5ac9a181.secrets-manager.tuenti.io',
      '--metrics-addr=:8080',
    ]) {
      assert.ok(container.args.includes(flag), `${flag} in ${container.args.join(' ')}`);
    }
    assert.deepEqual(container.livenessProbe, {
      httpGet: { path: '/healthz', port: 'metrics' },
      initialDelaySeconds: 5,
      periodSeconds: 20,
    });
    assert.deepEqual(container.readinessProbe, {
      httpGet: { path: '/readyz', port: 'metrics' },
      periodSeconds: 10,
    });
  });

  test('AppRole credentials come from an existing Secret as read-only files, never as values', async () => {
    const objects = await render('vault.authMethod=approle', 'vault.approle.existingSecret=vault-approle');
    const { pod, container } = deploymentOf(objects);
    assert.ok(container.args.includes('--vault.secret-id-file=/var/run/secrets/vault-approle/secret-id'));
    assert.ok(
      !container.args.some((a) => a.startsWith('--vault.secret-id=') || a.startsWith('--vault.role-id=')),
    );
    assert.deepEqual(
      (pod['volumes'] as { name: string; secret: { secretName: string; defaultMode: number } }[])[0]?.secret
        .secretName,
      'vault-approle',
    );
    assert.equal(JSON.stringify(container.env ?? []).includes('SECRET_ID'), false);
    await assert.rejects(render('vault.authMethod=approle'), /needs vault\.approle\.existingSecret/);
  });

  test('rolloutRestart.enabled adds the flags and get, list, watch, patch on the three workload kinds; off, neither', async () => {
    const on = await render('rolloutRestart.enabled=true', 'rolloutRestart.interval=1m');
    assert.ok(deploymentOf(on).container.args.includes('--rollout-restart'));
    assert.ok(deploymentOf(on).container.args.includes('--rollout-restart-interval=1m'));
    const rules = (
      on.find((o) => o.kind === 'ClusterRole') as unknown as { rules: Record<string, unknown>[] }
    ).rules;
    assert.deepEqual(
      rules.filter((r) => JSON.stringify(r['apiGroups']) === '["apps"]'),
      [
        {
          apiGroups: ['apps'],
          resources: ['deployments', 'statefulsets', 'daemonsets'],
          verbs: ['get', 'list', 'watch', 'patch'],
        },
      ],
    );
    const off = await render();
    assert.ok(!deploymentOf(off).container.args.some((a) => a.startsWith('--rollout-restart')));
    assert.doesNotMatch(JSON.stringify(off.filter((o) => o.kind === 'ClusterRole')), /deployments/);
  });

  test('backend azure-kv: workload identity by default (pod label, service account annotation), no Vault flags or volumes', async () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const client = '00000000-0000-0000-0000-00000000c11e';
    const objects = await render(
      'backend=azure-kv',
      'azureKeyVault.name=payments',
      `azureKeyVault.tenantId=${tenant}`,
      `azureKeyVault.clientId=${client}`,
      'vault.authMethod=approle',
      'vault.caSecret=vault-ca',
    );
    const { deployment, pod, container } = deploymentOf(objects);
    assert.deepEqual(
      container.args.filter(
        (a) => a.startsWith('--backend') || a.startsWith('--azure-kv') || a.startsWith('--vault'),
      ),
      [
        '--backend=azure-kv',
        '--azure-kv.name=payments',
        `--azure-kv.tenant-id=${tenant}`,
        `--azure-kv.client-id=${client}`,
        '--azure-kv.qps=100',
        '--azure-kv.burst=200',
      ],
    );
    assert.equal(pod['volumes'], undefined, 'no Vault AppRole or CA volume');
    const labels = (
      deployment as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }
    ).spec.template.metadata.labels;
    assert.equal(labels['azure.workload.identity/use'], 'true');
    const account = objects.find((o) => o.kind === 'ServiceAccount') as unknown as {
      metadata: { annotations: Record<string, string> };
    };
    assert.equal(account.metadata.annotations['azure.workload.identity/client-id'], client);
    // The webhook's AZURE_TENANT_ID wins over the flag, so it must be the chart's tenant too.
    assert.equal(account.metadata.annotations['azure.workload.identity/tenant-id'], tenant);
    await assert.rejects(
      render('backend=azure-kv', `azureKeyVault.tenantId=${tenant}`),
      /needs azureKeyVault\.name/,
    );
    await assert.rejects(
      render('backend=azure-kv', 'azureKeyVault.name=payments'),
      /authMethod workloadIdentity needs azureKeyVault\.tenantId and azureKeyVault\.clientId/,
    );
    await assert.rejects(
      render(
        'backend=azure-kv',
        'azureKeyVault.name=payments',
        `azureKeyVault.tenantId=${tenant}`,
        `azureKeyVault.clientId=${client}`,
        'vault.authScope=namespace',
      ),
      /vault\.authScope namespace is a Vault setting/,
    );
  });

  test('backend azure-kv in a private cloud: its authority, and instance discovery turned off', async () => {
    const azure = [
      'backend=azure-kv',
      'azureKeyVault.name=payments',
      'azureKeyVault.url=https://payments.vault.local.azurestack.external',
      'azureKeyVault.tenantId=t',
      'azureKeyVault.clientId=c',
    ];
    const args = (objects: K8sObject[]): string[] =>
      deploymentOf(objects).container.args.filter(
        (a) =>
          a.startsWith('--azure-kv.authority-host') || a.startsWith('--azure-kv.disable-instance-discovery'),
      );
    assert.deepEqual(args(await render(...azure)), [], 'discovery stays on by default');
    assert.deepEqual(
      args(
        await render(
          ...azure,
          'azureKeyVault.authorityHost=https://adfs.local.azurestack.external',
          'azureKeyVault.disableInstanceDiscovery=true',
        ),
      ),
      [
        '--azure-kv.authority-host=https://adfs.local.azurestack.external',
        '--azure-kv.disable-instance-discovery',
      ],
    );
    await assert.rejects(render(...azure, 'azureKeyVault.authorityHost=adfs.local'), /authorityHost/);
  });

  test('the Grafana dashboard: a ConfigMap the sidecar picks up, holding the same JSON as config/grafana', async () => {
    assert.ok(
      !(await render()).some((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard')),
    );
    const objects = await render('dashboards.enabled=true', 'dashboards.annotations.grafana_folder=secrets');
    const map = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'sm-secrets-manager-dashboard',
    ) as
      | (K8sObject & { data: Record<string, string>; metadata: { annotations?: Record<string, string> } })
      | undefined;
    assert.ok(map, 'the dashboard ConfigMap');
    assert.equal(map.metadata.labels?.['grafana_dashboard'], '1');
    assert.equal(map.metadata.namespace, 'secrets-manager');
    assert.deepEqual(map.metadata.annotations, { grafana_folder: 'secrets' });
    const file = await readFile(join(chart, 'dashboards', 'secrets-manager.json'), 'utf8');
    assert.deepEqual(JSON.parse(map.data['secrets-manager.json'] ?? ''), JSON.parse(file));
    assert.equal(await readFile(join(repoRoot, 'config', 'grafana', 'secrets-manager.json'), 'utf8'), file);
    const elsewhere = await render('dashboards.enabled=true', 'dashboards.namespace=monitoring');
    assert.equal(
      elsewhere.find((o) => o.metadata.name === 'sm-secrets-manager-dashboard')?.metadata.namespace,
      'monitoring',
    );
  });

  test('backend azure-kv: a service principal secret only by reference (AZURE_CLIENT_SECRET), a managed identity by ID', async () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const principal = deploymentOf(
      await render(
        'backend=azure-kv',
        'azureKeyVault.name=payments',
        'azureKeyVault.authMethod=servicePrincipal',
        `azureKeyVault.tenantId=${tenant}`,
        'azureKeyVault.clientId=app',
        'azureKeyVault.servicePrincipal.existingSecret=kv-principal',
      ),
    );
    assert.deepEqual(
      (principal.container.env as { name: string; valueFrom?: unknown }[]).find(
        (e) => e.name === 'AZURE_CLIENT_SECRET',
      ),
      {
        name: 'AZURE_CLIENT_SECRET',
        valueFrom: { secretKeyRef: { name: 'kv-principal', key: 'client-secret' } },
      },
    );
    assert.ok(!principal.container.args.some((a) => a.includes('client-secret')));
    await assert.rejects(
      render(
        'backend=azure-kv',
        'azureKeyVault.name=pay',
        'azureKeyVault.authMethod=servicePrincipal',
        `azureKeyVault.tenantId=${tenant}`,
        'azureKeyVault.clientId=app',
      ),
      /needs azureKeyVault\.servicePrincipal\.existingSecret/,
    );
    const managed = deploymentOf(
      await render(
        'backend=azure-kv',
        'azureKeyVault.url=https://payments.vault.azure.cn',
        'azureKeyVault.authMethod=managedIdentity',
        'azureKeyVault.managedIdentity.clientId=mi-client',
      ),
    );
    assert.ok(managed.container.args.includes('--azure-kv.url=https://payments.vault.azure.cn'));
    assert.ok(managed.container.args.includes('--azure-kv.managed-client-id=mi-client'));
    assert.ok(!managed.container.args.some((a) => a.startsWith('--azure-kv.tenant-id')));
    await assert.rejects(
      render('backend=azure-kv', 'azureKeyVault.name=pay', 'azureKeyVault.authMethod=managedIdentity'),
      /needs azureKeyVault\.managedIdentity\.clientId or \.resourceId/,
    );
  });

  test('accessPolicy becomes a ConfigMap mounted as a directory and passed with --access-policy; none: no flag', async (t) => {
    const rules = [
      { namespaces: ['*'], paths: ['secret/data/{namespace}/*'] },
      { namespaces: ['payments'], paths: ['kv/payments/+/config'] },
    ];
    const objects = await renderValues(t, { accessPolicy: rules });
    const { pod, container } = deploymentOf(objects);
    assert.ok(container.args.includes('--access-policy=/etc/secrets-manager/access-policy/policy.yaml'));
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'sm-secrets-manager-access-policy',
    ) as (K8sObject & { data: Record<string, string> }) | undefined;
    assert.ok(configMap, 'the ConfigMap is rendered');
    const parsed = parseAccessPolicy(configMap.data['policy.yaml'] ?? '');
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.policy.rules, rules);
    assert.deepEqual(
      (pod['volumes'] as { name: string; configMap?: { name: string } }[]).find(
        (v) => v.name === 'access-policy',
      )?.configMap,
      { name: 'sm-secrets-manager-access-policy' },
    );
    const mount = (
      container as unknown as { volumeMounts: { name: string; mountPath: string; subPath?: string }[] }
    ).volumeMounts.find((m) => m.name === 'access-policy');
    assert.deepEqual(mount, {
      name: 'access-policy',
      mountPath: '/etc/secrets-manager/access-policy',
      readOnly: true,
    });

    const without = await render();
    assert.ok(!deploymentOf(without).container.args.some((a) => a.startsWith('--access-policy')));
    assert.ok(!without.some((o) => o.kind === 'ConfigMap'));
    await assert.rejects(
      renderValues(t, { accessPolicy: [{ namespace: ['a'], paths: ['x/y'] }] }),
      /namespace/,
    );
  });

  test('namespace auth scope: flags, and tokens of the tenant service account only', async () => {
    const rulesOf = (objects: K8sObject[], kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .flatMap(
          (o) => (o['rules'] as { resources: string[]; resourceNames?: string[]; verbs: string[] }[]) ?? [],
        )
        .filter((r) => r.resources.includes('serviceaccounts/token'));
    const operatorScope = await render();
    assert.deepEqual(rulesOf(operatorScope, 'ClusterRole'), [], 'no token minting in operator scope');
    assert.ok(!deploymentOf(operatorScope).container.args.some((a) => a.startsWith('--vault.auth-scope')));

    const cluster = await render(
      'vault.authScope=namespace',
      'vault.tenant.serviceAccount=vault-reader',
      'vault.tenant.audience=vault',
    );
    assert.deepEqual(rulesOf(cluster, 'ClusterRole'), [
      {
        apiGroups: [''],
        resources: ['serviceaccounts/token'],
        resourceNames: ['vault-reader'],
        verbs: ['create'],
      },
    ]);
    const { container } = deploymentOf(cluster);
    for (const flag of [
      '--vault.auth-scope=namespace',
      '--vault.tenant-service-account=vault-reader',
      '--vault.tenant-role={namespace}',
      '--vault.kubernetes-audience=vault',
    ]) {
      assert.ok(container.args.includes(flag), `${flag} in ${container.args.join(' ')}`);
    }
    const namespaced = await render('vault.authScope=namespace', 'watchNamespaces={team-a}');
    assert.deepEqual(
      rulesOf(namespaced, 'Role').map((r) => r.resourceNames),
      [['default']],
    );
    assert.deepEqual(rulesOf(namespaced, 'ClusterRole'), []);
  });

  test("every value reaches the operator: the rendered flags, read by the operator's own parser, give the Config the values ask for", async (t) => {
    const { pod, container } = deploymentOf(
      await renderValues(t, {
        vault: {
          address: 'https://vault.example:8200',
          authMethod: 'approle',
          approle: { path: 'approle-x', existingSecret: 'creds' },
          kubernetes: { path: 'k8s-x' },
          authScope: 'namespace',
          tenant: { serviceAccount: 'reader', role: 'team-{namespace}', audience: 'vault' },
          engine: 'kv2',
          namespace: 'eng',
          caSecret: 'vault-ca',
          timeout: '7s',
          qps: 33,
          burst: 44,
          maxTokenTtl: 120,
          renewTtlIncrement: 900,
        },
        accessPolicy: [{ namespaces: ['*'], paths: ['secret/data/{namespace}/*'] }],
        reconcilePeriod: '45s',
        watchNamespaces: ['a', 'b'],
        excludeNamespaces: ['b'],
        rolloutRestart: { enabled: true, interval: '2m' },
        leaseRevokeGrace: '3m',
        leaseTokenSecret: 'kept-tokens',
        concurrency: 3,
        kubeApi: { qps: 12, burst: 24 },
        logLevel: 'debug',
        logFormat: 'text',
        metrics: { port: 9100 },
        leaderElection: { enabled: true, id: 'my-lease', leaseDuration: '20s' },
      }),
    );
    // The pod's namespace reaches --leader-election-namespace through POD_NAMESPACE.
    assert.deepEqual(
      (container.env as { name: string; valueFrom?: unknown }[]).find((e) => e.name === 'POD_NAMESPACE'),
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    );
    const { config } = await withEnv({ ...noVaultEnv, POD_NAMESPACE: 'platform' }, () =>
      parseRun(container.args),
    );
    const { vault } = config;
    assert.deepEqual(
      {
        address: vault.address,
        authMethod: vault.authMethod,
        approlePath: vault.approlePath,
        roleIdFile: vault.roleIdFile,
        secretIdFile: vault.secretIdFile,
        kubernetesPath: vault.kubernetesPath,
        authScope: vault.authScope,
        tenant: vault.tenant,
        engine: vault.engine,
        namespace: vault.namespace,
        caCertFile: vault.caCertFile,
        timeoutMs: vault.timeoutMs,
        qps: vault.qps,
        burst: vault.burst,
        maxTokenTtlSeconds: vault.maxTokenTtlSeconds,
        renewTtlIncrementSeconds: vault.renewTtlIncrementSeconds,
      },
      {
        address: 'https://vault.example:8200',
        authMethod: 'approle',
        approlePath: 'approle-x',
        roleIdFile: '/var/run/secrets/vault-approle/role-id',
        secretIdFile: '/var/run/secrets/vault-approle/secret-id',
        kubernetesPath: 'k8s-x',
        authScope: 'namespace',
        tenant: { serviceAccount: 'reader', role: 'team-{namespace}', audience: 'vault' },
        engine: 'kv2',
        namespace: 'eng',
        caCertFile: '/var/run/secrets/vault-ca/ca.crt',
        timeoutMs: 7_000,
        qps: 33,
        burst: 44,
        maxTokenTtlSeconds: 120,
        renewTtlIncrementSeconds: 900,
      },
    );
    assert.deepEqual(
      {
        accessPolicyFile: config.accessPolicyFile,
        reconcilePeriodMs: config.reconcilePeriodMs,
        watchNamespaces: config.watchNamespaces,
        excludeNamespaces: config.excludeNamespaces,
        rolloutRestart: config.rolloutRestart,
        leaseRevokeGraceMs: config.leaseRevokeGraceMs,
        leaseTokenSecret: config.leaseTokenSecret,
        concurrency: config.concurrency,
        kubeApi: config.kubeApi,
        logLevel: config.logLevel,
        logFormat: config.logFormat,
        metricsAddress: config.metricsAddress,
        leader: [
          config.leaderElection.enabled,
          config.leaderElection.name,
          config.leaderElection.namespace,
          config.leaderElection.leaseDurationMs,
        ],
      },
      {
        accessPolicyFile: '/etc/secrets-manager/access-policy/policy.yaml',
        reconcilePeriodMs: 45_000,
        watchNamespaces: ['a', 'b'],
        excludeNamespaces: ['b'],
        rolloutRestart: { enabled: true, minIntervalMs: 120_000 },
        leaseRevokeGraceMs: 180_000,
        leaseTokenSecret: 'kept-tokens',
        concurrency: 3,
        kubeApi: { qps: 12, burst: 24 },
        logLevel: 'debug',
        logFormat: 'text',
        metricsAddress: { host: undefined, port: 9100 },
        leader: [true, 'my-lease', 'platform', 20_000],
      },
    );

    // Every file a flag names is in a volume the pod mounts, under the name the flag gives.
    for (const file of [vault.roleIdFile, vault.secretIdFile, vault.caCertFile, config.accessPolicyFile]) {
      assert.ok(file !== undefined && servesFile(pod, container, file), `${file} is not mounted`);
    }

    // Azure with workload identity: the webhook injects the identity; the chart's tenant wins.
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const azure = deploymentOf(
      await render(
        'backend=azure-kv',
        'azureKeyVault.name=payments',
        `azureKeyVault.tenantId=${tenant}`,
        'azureKeyVault.clientId=app-client',
        'azureKeyVault.qps=7',
        'azureKeyVault.burst=9',
        'azureKeyVault.disableInstanceDiscovery=true',
      ),
    );
    const webhook = {
      AZURE_TENANT_ID: tenant,
      AZURE_CLIENT_ID: 'app-client',
      AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
      AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
    };
    const azureConfig = (await withEnv({ ...noVaultEnv, ...webhook }, () => parseRun(azure.container.args)))
      .config.azureKv;
    assert.deepEqual(azureConfig && { ...azureConfig, timeoutMs: undefined }, {
      name: 'payments',
      url: 'https://payments.vault.azure.net',
      resource: 'https://vault.azure.net',
      authorityHost: 'https://login.microsoftonline.com',
      disableInstanceDiscovery: true,
      tenantId: tenant,
      auth: {
        method: 'workload-identity',
        tenantId: tenant,
        clientId: 'app-client',
        tokenFile: '/var/run/secrets/azure/tokens/azure-identity-token',
      },
      qps: 7,
      burst: 9,
      timeoutMs: undefined,
    });
  });

  test('a typo in values fails at install time', async () => {
    await assert.rejects(render('vault.enigne=kv2'), /additional properties 'enigne' not allowed/);
    await assert.rejects(render('vault.engine=kv3'), /engine/);
  });

  test('cluster-wide by default; with watchNamespaces only Roles in those namespaces', async () => {
    const cluster = await render();
    assert.ok(
      cluster.some((o) => o.kind === 'ClusterRole' && JSON.stringify(o['rules']).includes('"secrets"')),
    );
    const namespaced = await render('watchNamespaces={team-a,team-b}');
    const clusterRoles = namespaced.filter((o) => o.kind === 'ClusterRole');
    assert.ok(
      clusterRoles.every((o) => !JSON.stringify(o['rules']).includes('"secrets"')),
      'no cluster-wide access to Secrets',
    );
    const leaseTokens = (o: { metadata: { name?: string } }): boolean =>
      o.metadata.name?.endsWith('-lease-tokens') === true;
    assert.deepEqual(
      namespaced
        .filter(
          (o) => o.kind === 'Role' && !leaseTokens(o) && JSON.stringify(o['rules']).includes('"secrets"'),
        )
        .map((o) => o.metadata.namespace)
        .sort(),
      ['team-a', 'team-b'],
    );
    // In its own namespace, only the Secret that keeps lease tokens (and create, which cannot name one).
    const kept = namespaced.find((o) => o.kind === 'Role' && leaseTokens(o));
    assert.deepEqual(kept?.['rules'], [
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['secrets-manager-lease-tokens'],
        verbs: ['get', 'patch'],
      },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    assert.equal(
      (await render('leaseTokenSecret=')).some((o) => o.kind === 'Role' && leaseTokens(o)),
      false,
      'off: no grant',
    );
    assert.ok(
      namespaced.some(
        (o) =>
          o.kind === 'ClusterRole' &&
          o.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view'] === 'true',
      ),
    );
  });

  test('vault.audit.port: the operator listens for the audit stream behind a Service, and allowFrom becomes a NetworkPolicy on that port', async () => {
    assert.ok(
      !(await render()).some((o) => o.metadata.name === 'sm-secrets-manager-audit'),
      'off by default',
    );
    const on = await render(
      'vault.audit.port=9090',
      'vault.audit.allowFrom[0].podSelector.matchLabels.app=vault',
    );
    const { args } = deploymentOf(on).container;
    assert.ok(args.includes('--vault.audit-listen=:9090'));
    const { config } = await withEnv(noVaultEnv, () => parseRun(args));
    assert.deepEqual(config.vault.auditListen, { host: undefined, port: 9090, refreshIntervalMs: 600_000 });
    const service = on.find((o) => o.kind === 'Service' && o.metadata.name === 'sm-secrets-manager-audit');
    assert.deepEqual((service?.['spec'] as { ports: unknown[] }).ports, [
      { name: 'vault-audit', port: 9090, targetPort: 'vault-audit', protocol: 'TCP' },
    ]);
    const policy = on.find((o) => o.kind === 'NetworkPolicy');
    assert.deepEqual((policy?.['spec'] as { ingress: unknown[] }).ingress[0], {
      from: [{ podSelector: { matchLabels: { app: 'vault' } } }],
      ports: [{ port: 9090, protocol: 'TCP' }],
    });
  });

  test('a PodDisruptionBudget only with more than one replica; ServiceMonitor and PrometheusRule on request', async () => {
    assert.ok(!(await render()).some((o) => o.kind === 'PodDisruptionBudget'));
    const full = await render(
      'replicaCount=2',
      'metrics.serviceMonitor.enabled=true',
      'metrics.prometheusRule.enabled=true',
    );
    assert.ok(full.some((o) => o.kind === 'PodDisruptionBudget'));
    assert.ok(full.some((o) => o.kind === 'ServiceMonitor'));
    const rule = full.find((o) => o.kind === 'PrometheusRule') as unknown as {
      spec: { groups: { rules: { alert: string }[] }[] };
    };
    const alerts = [
      'SecretsManagerSyncFailing',
      'SecretsManagerVaultTokenExpiring',
      'SecretsManagerVaultUnreachable',
      'SecretsManagerNoLeader',
      'SecretsManagerRefreshStretched',
      'SecretsManagerReconcileStuck',
      'SecretsManagerCertificateRenewalOverdue',
      'SecretsManagerLeaseRenewalOverdue',
    ];
    assert.deepEqual(
      rule.spec.groups[0]?.rules.map((r) => r.alert),
      alerts,
    );
    // The audit stream's alert only where the stream is configured: its gauge is 0 otherwise.
    const streamed = (await render('metrics.prometheusRule.enabled=true', 'vault.audit.port=9090')).find(
      (o) => o.kind === 'PrometheusRule',
    ) as unknown as typeof rule;
    assert.deepEqual(
      streamed.spec.groups[0]?.rules.map((r) => r.alert),
      [...alerts, 'SecretsManagerAuditStreamDown'],
    );
    const monitor = full.find((o) => o.kind === 'ServiceMonitor') as unknown as {
      spec: { endpoints: { honorLabels?: boolean }[] };
    };
    assert.equal(monitor.spec.endpoints[0]?.honorLabels, true, "a definition's namespace label is kept");
  });
});

/** A kubeconfig that authenticates as the chart's service account. */
async function serviceAccountKubeconfig(
  t: TestContext,
  namespace: string,
  serviceAccount: string,
): Promise<string> {
  const { state } = await testStack();
  const token = (await kubectl(['create', 'token', serviceAccount, '-n', namespace])).trim();
  const dir = await mkdtemp(join(tmpdir(), 'sa-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'kubeconfig');
  await writeTokenKubeconfig(file, state.kube.server, state.kube.caFile, token);
  return file;
}

async function install(t: TestContext, release: string, namespace: string, ...set: string[]): Promise<void> {
  await ensureCrd();
  await helm(['install', release, chart, '--namespace', namespace, ...set.flatMap((s) => ['--set', s])]);
  t.after(() => helm(['uninstall', release, '--namespace', namespace]).then(() => undefined));
}

describe('the chart installs and its RBAC suffices', () => {
  test("cluster-wide: the operator with the chart's service account syncs a SecretDefinition", async (t) => {
    const release = await freshNamespace(t, 'sm');
    const target = await freshNamespace(t);
    await install(t, 'sm', release);
    assert.match(
      await kubectl(['get', 'deployment,serviceaccount,service', '-n', release, '-o', 'name']),
      /deployment.apps\/sm-secrets-manager/,
    );
    const kubeconfig = await serviceAccountKubeconfig(t, release, 'sm-secrets-manager');

    await putKv2(`secret/${target}/app`, { v: 'chart' });
    const operator = await startOperator(t, {
      args: [
        `--kubeconfig=${kubeconfig}`,
        '--enable-leader-election',
        `--leader-election-namespace=${release}`,
        '--leader-election-id=sm-secrets-manager-leader',
      ],
    });
    await waitReady(operator);
    await applyDefinition(target, 'app', {
      name: 'app',
      keysMap: { v: { path: `secret/${target}/app`, key: 'v' } },
    });
    await waitForReady(target, 'app', 'True');
    assert.deepEqual(await secretData(target, 'app'), { v: 'chart' });
    // It leads through the Lease --leader-election-id names, in --leader-election-namespace.
    const lease = JSON.parse(
      await kubectl(['get', 'lease', 'sm-secrets-manager-leader', '-n', release, '-o', 'json']),
    ) as { spec: { holderIdentity?: string } };
    assert.match(lease.spec.holderIdentity ?? '', /\S/);
  });

  test("rollout restarts: the chart's service account may watch and patch the workloads it restarts", async (t) => {
    const release = await freshNamespace(t, 'sm');
    const target = await freshNamespace(t);
    await install(t, 'sm', release, 'rolloutRestart.enabled=true');
    const kubeconfig = await serviceAccountKubeconfig(t, release, 'sm-secrets-manager');
    await putKv2(`secret/${target}/app`, { v: 'one' });
    await kubectl(['apply', '-n', target, '-f', '-'], workload('Deployment', 'web', 'app', true));
    await waitRevisions(target, 'Deployment', 'web', 1);
    const operator = await startOperator(t, {
      args: [`--kubeconfig=${kubeconfig}`, '--rollout-restart', '--rollout-restart-interval=1s'],
    });
    await waitReady(operator);
    await applyDefinition(target, 'app', {
      name: 'app',
      keysMap: { password: { path: `secret/${target}/app`, key: 'v' } },
    });
    await waitForReady(target, 'app', 'True');
    await putKv2(`secret/${target}/app`, { v: 'two' });
    await waitRevisions(target, 'Deployment', 'web', 2);
  });

  test("namespace auth scope: the chart's service account mints tokens for the tenant service account only, and syncs with the namespace's own identity", async (t) => {
    const release = await freshNamespace(t, 'sm');
    const target = await freshNamespace(t);
    const tenant = 'vault-reader';
    await install(t, 'smt', release, 'vault.authScope=namespace', `vault.tenant.serviceAccount=${tenant}`);
    const kubeconfig = await serviceAccountKubeconfig(t, release, 'smt-secrets-manager');
    await kubectl(['create', 'serviceaccount', tenant, '-n', target]);
    await setupVaultTenants([target], tenant);

    await putKv2(`secret/${target}/app`, { v: 'tenant' });
    const operator = await startOperator(t, {
      args: [
        `--kubeconfig=${kubeconfig}`,
        '--vault.auth-scope=namespace',
        `--vault.tenant-service-account=${tenant}`,
        `--watch-namespaces=${target}`,
      ],
      env: { VAULT_ROLE_ID: '', VAULT_SECRET_ID: '' },
    });
    await waitReady(operator);
    await applyDefinition(target, 'app', {
      name: 'app',
      keysMap: { v: { path: `secret/${target}/app`, key: 'v' } },
    });
    await waitForReady(target, 'app', 'True');
    assert.deepEqual(await secretData(target, 'app'), { v: 'tenant' });

    const kubectlBinary = (await testStack()).state.binaries.kubectl;
    const asOperator = (args: string[]) => exec(kubectlBinary, [`--kubeconfig=${kubeconfig}`, ...args]);
    assert.ok((await asOperator(['create', 'token', tenant, '-n', target])).stdout.trim().length > 0);
    await assert.rejects(
      asOperator(['create', 'token', 'default', '-n', target]),
      /serviceaccounts "default" is forbidden/,
    );
    await assert.rejects(
      asOperator(['create', 'token', 'smt-secrets-manager', '-n', release]),
      /serviceaccounts "smt-secrets-manager" is forbidden/,
    );
  });

  test('namespaced: it syncs in its namespaces and cannot read a Secret anywhere else', async (t) => {
    const release = await freshNamespace(t, 'sm');
    const target = await freshNamespace(t);
    const other = await freshNamespace(t);
    await install(t, 'smn', release, `watchNamespaces={${target}}`);
    const kubeconfig = await serviceAccountKubeconfig(t, release, 'smn-secrets-manager');

    await putKv2(`secret/${target}/app`, { v: 'namespaced' });
    const operator = await startOperator(t, {
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--watch-namespaces=${target}`,
        '--enable-leader-election',
        `--leader-election-namespace=${release}`,
        '--leader-election-id=smn-secrets-manager-leader',
      ],
    });
    await waitReady(operator);
    await applyDefinition(target, 'app', {
      name: 'app',
      keysMap: { v: { path: `secret/${target}/app`, key: 'v' } },
    });
    await waitForReady(target, 'app', 'True');
    assert.deepEqual(await secretData(target, 'app'), { v: 'namespaced' });

    await kubectl(['create', 'secret', 'generic', 'private', '-n', other, '--from-literal=k=v']);
    const kubectlBinary = (await testStack()).state.binaries.kubectl;
    const asOperator = (args: string[]) => exec(kubectlBinary, [`--kubeconfig=${kubeconfig}`, ...args]);
    await assert.rejects(asOperator(['get', 'secret', 'private', '-n', other]), /Forbidden/);
    await assert.rejects(asOperator(['get', 'secrets', '--all-namespaces']), /Forbidden/);

    // In its own namespace it keeps the lease tokens in the one Secret the chart names, and no other.
    const tokens = 'secrets-manager-lease-tokens';
    await asOperator(['create', 'secret', 'generic', tokens, '-n', release, '--from-literal=operator=t']);
    await asOperator(['patch', 'secret', tokens, '-n', release, '-p', '{"data":{"operator":"dQ=="}}']);
    assert.match(
      (await asOperator(['get', 'secret', tokens, '-n', release, '-o', 'name'])).stdout,
      /lease-tokens/,
    );
    await kubectl(['create', 'secret', 'generic', 'private', '-n', release, '--from-literal=k=v']);
    await assert.rejects(asOperator(['get', 'secret', 'private', '-n', release]), /Forbidden/);
  });
});
