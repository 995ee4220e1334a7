import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { kubeApi } from '../../../src/kube/kube-api.ts';
import { loadKubeConfig, serverHost } from '../../../src/kube/kubeconfig.ts';
import { certificateAuthority, issueCertificate } from '../../harness/certificates.ts';
import { apiserverStandIn, json } from '../../support/apiserver-stand-in.ts';

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
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

async function written(t: TestContext, text: string): Promise<string> {
  const file = join(await scratch(t), 'config');
  await writeFile(file, text);
  return file;
}

describe('where the apiserver is and who we are', () => {
  test('a kubeconfig with a token and a CA file relative to it (YAML); the CA is read once, at load', async (t) => {
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
    const loaded = loadKubeConfig({ kubeconfig: file });
    assert.equal(loaded.server, 'https://10.0.0.1:6443');
    assert.equal(loaded.source, `kubeconfig ${file}, context main`);
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.caData, b64(ca));
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.caFile, undefined);
    assert.equal(loaded.kubeConfig.getCurrentUser()?.token, 'abc');
  });

  test('inline certificate data and a client certificate; insecure-skip-tls-verify is read', async (t) => {
    const file = await written(
      t,
      kubeconfig(
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        { 'certificate-authority-data': b64(ca), 'insecure-skip-tls-verify': true },
      ),
    );
    const { kubeConfig } = loadKubeConfig({ kubeconfig: file });
    const user = kubeConfig.getCurrentUser();
    const cluster = kubeConfig.getCurrentCluster();
    assert.deepEqual(
      [cluster?.caData, user?.certData, user?.keyData, cluster?.skipTLSVerify],
      [b64(ca), b64('CERT'), b64('KEY'), true],
    );
  });

  test('a server URL carrying a user or password is refused, without echoing it', async (t) => {
    const file = await written(
      t,
      kubeconfig({ token: 't' }, { server: 'https://admin:hunter2@10.0.0.1:6443' }),
    );
    assert.throws(
      () => loadKubeConfig({ kubeconfig: file }),
      (error: Error) =>
        /the server of cluster c carries a user or password/.test(error.message) &&
        !error.message.includes('hunter2'),
    );
  });

  test('a plain http:// server needs insecure-skip-tls-verify (the library refuses it otherwise), and says so at load', async (t) => {
    const file = await written(t, kubeconfig({ token: 't' }, { server: 'http://10.0.0.1:8080' }));
    assert.throws(
      () => loadKubeConfig({ kubeconfig: file }),
      /http:\/\/ server: set insecure-skip-tls-verify/,
    );
  });

  test('basic auth (username and password) is sent as kubectl sends it', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({ username: 'admin', password: 'pw' }),
    });
    t.after(() => kubeConfig.close());
    await kubeApi(kubeConfig).core.readNamespace({ name: 'x' });
    assert.deepEqual(standIn.seen[0]?.headers['authorization'], [`Basic ${b64('admin:pw')}`]);
  });

  test('tls-server-name is the name the certificate is checked against', async (t) => {
    const dir = await scratch(t);
    const authority = await certificateAuthority(dir, 'cluster-ca');
    const serving = await issueCertificate(dir, authority, 'apiserver', ['kube.internal']);
    const server = createHttpsServer(
      { cert: await readFile(serving.certFile), key: await readFile(serving.keyFile) },
      (_req, res) => json(res, 200, {}),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const read = async (cluster: Record<string, unknown>) => {
      const file = join(dir, `config-${Object.keys(cluster).length}`);
      await writeFile(
        file,
        kubeconfig(
          { token: 't' },
          { server: address, 'certificate-authority': authority.certFile, ...cluster },
        ),
      );
      const { kubeConfig } = loadKubeConfig({ kubeconfig: file });
      t.after(() => kubeConfig.close());
      return kubeApi(kubeConfig).core.readNamespace({ name: 'x' });
    };
    await assert.rejects(read({}), /certificate|altnames|IP: 127\.0\.0\.1/i);
    await read({ 'tls-server-name': 'kube.internal' });
  });

  test('the apiserver is spoken to over HTTP/1.1 even where it offers HTTP/2 (it held 34 MiB more at 10,000 definitions)', async (t) => {
    const dir = await scratch(t);
    const authority = await certificateAuthority(dir, 'cluster-ca');
    const serving = await issueCertificate(dir, authority, 'apiserver', ['localhost']);
    const versions: string[] = [];
    const server = createSecureServer(
      { cert: await readFile(serving.certFile), key: await readFile(serving.keyFile), allowHTTP1: true },
      (req, res) => {
        versions.push(req.httpVersion);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const file = join(dir, 'config');
    await writeFile(
      file,
      kubeconfig(
        { token: 't' },
        {
          server: `https://localhost:${(server.address() as AddressInfo).port}`,
          'certificate-authority': authority.certFile,
        },
      ),
    );
    const { kubeConfig } = loadKubeConfig({ kubeconfig: file });
    t.after(() => kubeConfig.close());
    const api = kubeApi(kubeConfig);
    await api.core.readNamespace({ name: 'x' });
    await api.getJson('/api/v1/namespaces/x', {});
    assert.deepEqual(versions, ['1.1', '1.1']);
  });

  test('a cluster behind proxy-url is reached through the proxy', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    // An HTTP proxy: plain requests in absolute form (what undici sends for an http:// server),
    // CONNECT tunnels for https:// ones.
    const through: string[] = [];
    const proxy = createHttpServer((req, res) => {
      through.push(`${req.method ?? ''} ${req.url ?? ''}`);
      const upstream = httpRequest(req.url ?? '', { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    proxy.on('connect', (req, client) => {
      through.push(`CONNECT ${req.url ?? ''}`);
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host ?? '', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      proxy.closeAllConnections();
      proxy.close();
    });
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({ token: 't' }, { 'proxy-url': proxyUrl }),
    });
    t.after(() => kubeConfig.close());
    await kubeApi(kubeConfig).core.readNamespace({ name: 'x' });
    assert.deepEqual(through, [`GET ${standIn.server}/api/v1/namespaces/x`]);
    assert.equal(standIn.seen.length, 1);
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
      JSON.stringify({ 'current-context': 'main', users: [{ name: 'u', user: { token: 'first' } }] }),
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
    const { kubeConfig, server } = loadKubeConfig({ env: { KUBECONFIG: `${first}:${second}` }, home: dir });
    assert.deepEqual(
      [server, kubeConfig.getCurrentUser()?.token, kubeConfig.getCurrentCluster()?.caData],
      ['https://10.0.0.2', 'first', b64(ca)],
    );
  });

  test('a kubeconfig without a current context, or naming a missing cluster or user, says so', async (t) => {
    const dir = await scratch(t);
    const none = join(dir, 'none');
    await writeFile(none, JSON.stringify({ contexts: [] }));
    assert.throws(() => loadKubeConfig({ kubeconfig: none }), /has no current-context/);
    const missing = join(dir, 'missing');
    await writeFile(
      missing,
      JSON.stringify({
        'current-context': 'x',
        contexts: [{ name: 'x', context: { cluster: 'gone', user: 'u' } }],
      }),
    );
    assert.throws(() => loadKubeConfig({ kubeconfig: missing }), /has no cluster named gone/);
    const noUser = join(dir, 'no-user');
    await writeFile(
      noUser,
      JSON.stringify({
        'current-context': 'x',
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'ghost' } }],
        clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.1' } }],
      }),
    );
    assert.throws(() => loadKubeConfig({ kubeconfig: noUser }), /has no user named ghost/);
    assert.throws(
      () => loadKubeConfig({ kubeconfig: join(dir, 'absent') }),
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
      loadKubeConfig({ env, home: homeDir, serviceAccountDir: account });
    const token = (env: Record<string, string>, homeDir = home) =>
      load(env, homeDir).kubeConfig.getCurrentUser()?.token;
    assert.equal(token({ KUBECONFIG: `${join(dir, 'absent')}:${listed}`, ...inPod }), 'from-env');
    // KUBECONFIG naming only missing files is an error, not a silent fall back to another cluster.
    assert.throws(
      () => load({ KUBECONFIG: `${join(dir, 'absent')}:${join(dir, 'gone')}`, ...inPod }),
      new RegExp(`none of the files KUBECONFIG lists exists: ${join(dir, 'absent')}, ${join(dir, 'gone')}`),
    );
    // In a Pod the service account comes before a ~/.kube/config; outside one, ~/.kube/config.
    const pod = load(inPod);
    assert.equal(pod.source, 'the in-cluster service account');
    assert.equal(pod.server, 'https://10.96.0.1:443');
    assert.equal(pod.kubeConfig.getCurrentCluster()?.caData, b64(ca));
    assert.equal(token({}), 'from-home');
    assert.equal(load({ ...inPod, KUBERNETES_SERVICE_HOST: 'fd00::1' }, dir).server, 'https://[fd00::1]:443');
    assert.throws(() => load({}, dir), /no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG/);
  });

  test("in a Pod the service account's token is sent, read again as it rotates, and never with its newline", async (t) => {
    const dir = await scratch(t);
    const authority = await certificateAuthority(dir, 'cluster-ca');
    const serving = await issueCertificate(dir, authority, 'apiserver', ['localhost']);
    const authorizations: (string | undefined)[] = [];
    const server = createHttpsServer(
      { cert: await readFile(serving.certFile), key: await readFile(serving.keyFile) },
      (req, res) => {
        authorizations.push(req.headers.authorization);
        json(res, 200, {});
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const account = join(dir, 'sa');
    await mkdir(account);
    await writeFile(join(account, 'token'), 'projected-1\n');
    await writeFile(join(account, 'ca.crt'), await readFile(authority.certFile));
    let now = 0;
    const { kubeConfig } = loadKubeConfig({
      env: {
        KUBERNETES_SERVICE_HOST: 'localhost',
        KUBERNETES_SERVICE_PORT: String((server.address() as AddressInfo).port),
      },
      home: dir,
      serviceAccountDir: account,
      now: () => now,
    });
    t.after(() => kubeConfig.close());
    const api = kubeApi(kubeConfig);
    await api.core.readNamespace({ name: 'x' });
    await writeFile(join(account, 'token'), 'projected-2\n');
    now += 59_000;
    await api.core.readNamespace({ name: 'x' });
    now += 1_000;
    await api.core.readNamespace({ name: 'x' });
    // Being replaced: the last token until the file is back.
    await rm(join(account, 'token'));
    now += 60_000;
    await api.core.readNamespace({ name: 'x' });
    assert.deepEqual(authorizations, [
      'Bearer projected-1',
      'Bearer projected-1',
      'Bearer projected-2',
      'Bearer projected-2',
    ]);
  });
});

describe('an exec credential plugin', () => {
  /** A plugin that counts its runs in a file and answers a token that expires after `ttlMs`. */
  async function plugin(
    t: TestContext,
    script: string,
  ): Promise<{ dir: string; command: string; runs(): Promise<number> }> {
    const dir = await scratch(t);
    const command = join(dir, 'credential.sh');
    await writeFile(command, `#!/bin/sh\necho run >> "${join(dir, 'runs')}"\n${script}\n`);
    await chmod(command, 0o755);
    return {
      dir,
      command,
      runs: async () =>
        (await readFile(join(dir, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length,
    };
  }

  const credential = (token: string, expires: string) =>
    `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}","expirationTimestamp":"'${expires}'"}}'`;

  test('runs once for callers that need it at the same time, and again only when the credential expires', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    const exec = await plugin(
      t,
      `sleep 0.2\n${credential('exec-token', '$(date -u -d "+2 seconds" +%Y-%m-%dT%H:%M:%SZ)')}`,
    );
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: exec.command,
          interactiveMode: 'Never',
        },
      }),
    });
    t.after(() => kubeConfig.close());
    const api = kubeApi(kubeConfig);
    await Promise.all(Array.from({ length: 10 }, () => api.core.readNamespace({ name: 'x' })));
    await api.core.readNamespace({ name: 'x' });
    assert.equal(await exec.runs(), 1);
    assert.ok(standIn.seen.every((s) => s.headers['authorization']?.[0] === 'Bearer exec-token'));
    const deadline = Date.now() + 10_000;
    while ((await exec.runs()) < 2 && Date.now() < deadline) await api.core.readNamespace({ name: 'x' });
    assert.equal(await exec.runs(), 2, 'a new credential once the first expired');
  });

  test('gets KUBERNETES_EXEC_INFO as kubectl sets it, its stdin closed', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    const exec = await plugin(
      t,
      `echo "$KUBERNETES_EXEC_INFO" > "$(dirname "$0")/info"\nif read line; then exit 3; fi\n${credential('t', '2999-01-01T00:00:00Z')}`,
    );
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: exec.command,
          provideClusterInfo: true,
        },
      }),
    });
    t.after(() => kubeConfig.close());
    await kubeApi(kubeConfig).core.readNamespace({ name: 'x' });
    assert.deepEqual(JSON.parse(await readFile(join(exec.dir, 'info'), 'utf8')), {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: standIn.server, 'insecure-skip-tls-verify': true } },
    });
  });

  test('a failing plugin is named, what it said goes to the log only, nothing is sent, and it is not run again for 5 s', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    const exec = await plugin(t, 'echo "error: you must be logged in" >&2\necho "second line" >&2\nexit 1');
    const said: unknown[] = [];
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: exec.command },
      }),
      execFailed: (message, fields) => said.push({ message, ...fields }),
    });
    t.after(() => kubeConfig.close());
    const expected = {
      message:
        'the exec credential plugin credential.sh of kubeconfig user u failed; what it said is in the operator log',
    };
    await assert.rejects(kubeApi(kubeConfig).core.readNamespace({ name: 'x' }), expected);
    await assert.rejects(kubeApi(kubeConfig).core.readNamespace({ name: 'x' }), expected);
    assert.deepEqual(said, [
      {
        message: 'the exec credential plugin credential.sh of kubeconfig user u failed',
        said: 'error: you must be logged in',
      },
    ]);
    assert.equal(await exec.runs(), 1);
    assert.deepEqual(standIn.seen, []);
  });

  for (const [what, script] of [
    ['ignores SIGTERM', "trap '' TERM\nsleep 30"],
    ['exits and leaves a child holding its output', 'sleep 30 &\nexit 1'],
  ] as const) {
    test(`a plugin that ${what} cannot hold the requests: the deadline holds`, async (t) => {
      const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
      const exec = await plugin(t, script);
      const { kubeConfig } = loadKubeConfig({
        kubeconfig: await standIn.kubeconfig({
          exec: { apiVersion: 'client.authentication.k8s.io/v1', command: exec.command },
        }),
        execTimeoutMs: 500,
      });
      t.after(() => kubeConfig.close());
      const started = Date.now();
      await assert.rejects(kubeApi(kubeConfig).core.readNamespace({ name: 'x' }), /credential\.sh .* failed/);
      assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
    });
  }

  test('a 401 drops the credential: the next request runs the plugin again, as client-go does', async (t) => {
    let refusals = 1;
    const standIn = await apiserverStandIn(t, (_seen, res) =>
      refusals-- > 0
        ? json(res, 401, { kind: 'Status', reason: 'Unauthorized', code: 401 })
        : json(res, 200, {}),
    );
    const exec = await plugin(t, credential('revoked-or-not', '2999-01-01T00:00:00Z'));
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: exec.command },
      }),
    });
    t.after(() => kubeConfig.close());
    const api = kubeApi(kubeConfig);
    await assert.rejects(api.core.readNamespace({ name: 'x' }));
    await api.core.readNamespace({ name: 'x' });
    await api.core.readNamespace({ name: 'x' });
    assert.equal(await exec.runs(), 2);
  });

  test('a token with a character a bearer token cannot hold is refused, and never repeated', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    const exec = await plugin(t, credential('half\\u0000secret-tail', '2999-01-01T00:00:00Z'));
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: exec.command },
      }),
    });
    t.after(() => kubeConfig.close());
    const error = await kubeApi(kubeConfig)
      .core.readNamespace({ name: 'x' })
      .catch((e: unknown) => e);
    assert.match(String(error), /credential\.sh of kubeconfig user u failed/);
    assert.doesNotMatch(String(error), /secret-tail/);
    const dir = await scratch(t);
    await writeFile(join(dir, 'token'), 'first-line\nsecond-line-secret\n');
    const { kubeConfig: fromFile } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({ tokenFile: join(dir, 'token') }),
    });
    t.after(() => fromFile.close());
    const refused = await kubeApi(fromFile)
      .core.readNamespace({ name: 'x' })
      .catch((e: unknown) => e);
    assert.match(String(refused), /holds characters a bearer token cannot/);
    assert.doesNotMatch(String(refused), /second-line-secret/);
    assert.deepEqual(standIn.seen, []);
  });
});

test('the host label of apiserver requests is the host and port as written, as client-go has it', () => {
  assert.equal(serverHost('https://10.96.0.1:443'), '10.96.0.1:443');
  assert.equal(serverHost('https://[fd00::1]:6443/'), '[fd00::1]:6443');
  assert.equal(serverHost('https://user:pw@api.example:8443/prefix'), 'api.example:8443');
  assert.equal(serverHost('https://api.example'), 'api.example');
});
