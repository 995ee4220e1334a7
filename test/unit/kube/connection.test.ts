import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { loadKubeConnection, serverHost } from '../../../src/kube/connection.ts';

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-connection-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const ca = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'main',
    contexts: [
      { name: 'other', context: { cluster: 'nowhere', user: 'nobody' } },
      { name: 'main', context: { cluster: 'c', user: 'u' } },
    ],
    clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.1:6443/', ...cluster } }],
    users: [{ name: 'u', user }],
  });
}

describe('where the apiserver is and who we are', () => {
  test('a kubeconfig with a token and a CA file relative to it (YAML)', async (t) => {
    const dir = await scratch(t);
    await writeFile(join(dir, 'ca.crt'), ca);
    const file = join(dir, 'config');
    await writeFile(
      file,
      [
        'current-context: main',
        'contexts: [{name: main, context: {cluster: c, user: u}}]',
        'clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443", certificate-authority: ca.crt}}]',
        'users: [{name: u, user: {token: abc}}]',
      ].join('\n'),
    );
    assert.deepEqual(loadKubeConnection({ kubeconfig: file }), {
      server: 'https://10.0.0.1:6443',
      caPem: ca,
      skipTlsVerify: false,
      token: 'abc',
      source: `kubeconfig ${file}, context main`,
    });
  });

  test('inline certificate data and a client certificate; insecure-skip-tls-verify is read', async (t) => {
    const file = join(await scratch(t), 'config');
    await writeFile(
      file,
      kubeconfig(
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        { 'certificate-authority-data': b64(ca), 'insecure-skip-tls-verify': true },
      ),
    );
    const connection = loadKubeConnection({ kubeconfig: file });
    assert.deepEqual(
      [
        connection.server,
        connection.caPem,
        connection.clientCertPem,
        connection.clientKeyPem,
        connection.skipTlsVerify,
      ],
      ['https://10.0.0.1:6443', ca, 'CERT', 'KEY', true],
    );
  });

  for (const [what, user, problem] of [
    [
      'an exec plugin',
      { exec: { command: 'aws' } },
      /uses exec, which this operator does not support; use a token/,
    ],
    ['an auth provider', { 'auth-provider': { name: 'gcp' } }, /uses auth-provider/],
    ['basic auth', { username: 'a', password: 'b' }, /uses username/],
    [
      'impersonation with extra fields',
      { token: 't', 'as-user-extra': { scopes: ['x'] } },
      /uses as-user-extra/,
    ],
    [
      'a certificate without its key',
      { 'client-certificate-data': b64('CERT') },
      /a client certificate or key, not both/,
    ],
  ] as const) {
    test(`a user with ${what} is refused, saying what to use`, async (t) => {
      const file = join(await scratch(t), 'config');
      await writeFile(file, kubeconfig(user));
      assert.throws(() => loadKubeConnection({ kubeconfig: file }), problem);
    });
  }

  test('a cluster behind proxy-url is refused rather than reached around the proxy', async (t) => {
    const file = join(await scratch(t), 'config');
    await writeFile(file, kubeconfig({ token: 't' }, { 'proxy-url': 'http://proxy:3128' }));
    assert.throws(
      () => loadKubeConnection({ kubeconfig: file }),
      /cluster c uses proxy-url, which this operator does not support/,
    );
  });

  test('a server URL carrying a user or password is refused (basic auth in disguise), without echoing it', async (t) => {
    const file = join(await scratch(t), 'config');
    await writeFile(file, kubeconfig({ token: 't' }, { server: 'https://admin:hunter2@10.0.0.1:6443' }));
    assert.throws(
      () => loadKubeConnection({ kubeconfig: file }),
      (error: Error) =>
        /the server of cluster c carries a user or password, which this operator does not support/.test(
          error.message,
        ) && !error.message.includes('hunter2'),
    );
  });

  test('tls-server-name and impersonation (as, as-uid, as-groups) are read', async (t) => {
    const file = join(await scratch(t), 'config');
    await writeFile(
      file,
      kubeconfig(
        { token: 't', as: 'someone', 'as-uid': 'u-1', 'as-groups': ['g1', 'g2'] },
        { 'tls-server-name': 'kubernetes.default' },
      ),
    );
    const connection = loadKubeConnection({ kubeconfig: file });
    assert.equal(connection.tlsServerName, 'kubernetes.default');
    assert.deepEqual(connection.impersonate, { user: 'someone', uid: 'u-1', groups: ['g1', 'g2'] });
  });

  test('several $KUBECONFIG files are merged: the first to name an entry or a current context wins, paths relative to their own file', async (t) => {
    const dir = await scratch(t);
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'b', 'ca.crt'), ca);
    const first = join(dir, 'a', 'config');
    const second = join(dir, 'b', 'config');
    await writeFile(
      first,
      JSON.stringify({
        'current-context': 'main',
        users: [{ name: 'u', user: { token: 'first' } }],
      }),
    );
    await writeFile(
      second,
      JSON.stringify({
        'current-context': 'other',
        contexts: [{ name: 'main', context: { cluster: 'c', user: 'u' } }],
        clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.2', 'certificate-authority': 'ca.crt' } }],
        users: [{ name: 'u', user: { token: 'second' } }],
      }),
    );
    const connection = loadKubeConnection({ env: { KUBECONFIG: `${first}:${second}` }, home: dir });
    assert.deepEqual(
      [connection.server, connection.token, connection.caPem],
      ['https://10.0.0.2', 'first', ca],
    );
  });

  test('a kubeconfig without a current context, or naming a missing cluster, says so', async (t) => {
    const dir = await scratch(t);
    const none = join(dir, 'none');
    await writeFile(none, JSON.stringify({ contexts: [] }));
    assert.throws(() => loadKubeConnection({ kubeconfig: none }), /has no current-context/);
    const missing = join(dir, 'missing');
    await writeFile(
      missing,
      JSON.stringify({
        'current-context': 'x',
        contexts: [{ name: 'x', context: { cluster: 'gone', user: 'u' } }],
      }),
    );
    assert.throws(() => loadKubeConnection({ kubeconfig: missing }), /has no cluster named gone/);
    assert.throws(
      () => loadKubeConnection({ kubeconfig: join(dir, 'absent') }),
      /cannot read the kubeconfig from/,
    );
  });

  test("without --kubeconfig, as controller-runtime: KUBECONFIG's files; without KUBECONFIG, the service account, then ~/.kube/config", async (t) => {
    const dir = await scratch(t);
    const listed = join(dir, 'listed');
    await writeFile(listed, kubeconfig({ token: 'from-env' }));
    const home = join(dir, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    await writeFile(join(home, '.kube', 'config'), kubeconfig({ token: 'from-home' }));
    const account = join(dir, 'sa');
    await mkdir(account);
    await writeFile(join(account, 'token'), 'sa-token');
    await writeFile(join(account, 'ca.crt'), ca);
    const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

    const load = (env: Record<string, string>, homeDir = home) =>
      loadKubeConnection({ env, home: homeDir, serviceAccountDir: account });
    assert.equal(load({ KUBECONFIG: `${join(dir, 'absent')}:${listed}`, ...inPod }).token, 'from-env');
    // KUBECONFIG naming only missing files is an error, not a silent fall back to another cluster.
    assert.throws(
      () => load({ KUBECONFIG: `${join(dir, 'absent')}:${join(dir, 'gone')}`, ...inPod }),
      new RegExp(`none of the files KUBECONFIG lists exists: ${join(dir, 'absent')}, ${join(dir, 'gone')}`),
    );
    // In a Pod the service account comes before a ~/.kube/config; outside one, ~/.kube/config.
    assert.equal(load(inPod).tokenFile, join(account, 'token'));
    assert.equal(load({}).token, 'from-home');
    assert.deepEqual(load(inPod, dir), {
      server: 'https://10.96.0.1:443',
      caPem: ca,
      skipTlsVerify: false,
      tokenFile: join(account, 'token'),
      source: 'the in-cluster service account',
    });
    assert.equal(load({ ...inPod, KUBERNETES_SERVICE_HOST: 'fd00::1' }, dir).server, 'https://[fd00::1]:443');
    assert.throws(() => load({}, dir), /no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG/);
  });
});

test('the host label of apiserver requests is the host and port as written, as client-go has it', () => {
  assert.equal(serverHost('https://10.96.0.1:443'), '10.96.0.1:443');
  assert.equal(serverHost('https://[fd00::1]:6443/'), '[fd00::1]:6443');
  assert.equal(serverHost('https://user:pw@api.example:8443/prefix'), 'api.example:8443');
  assert.equal(serverHost('https://api.example'), 'api.example');
});
