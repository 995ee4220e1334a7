// The operator's Kubernetes calls through @kubernetes/client-node, against a stand-in apiserver:
// what goes on the wire, the HTTP library's rules (rate limit, timeout, 429, counting), the
// connection pool, and the library's traps held shut.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CoreV1Api,
  Observable,
  ResponseContext,
  ServerConfiguration,
  createConfiguration,
  type Configuration,
} from '@kubernetes/client-node';
import { describeError } from '../../../src/describe-error.ts';
import { KubeError, toKubeError } from '../../../src/kube/errors.ts';
import { restartWorkload } from '../../../src/kube/restart-workload.ts';
import { KubeHttpLibrary, KubeRequestError } from '../../../src/kube/http-library.ts';
import { applyPatch, kubeApi, kubeConfiguration, withCallSignal } from '../../../src/kube/kube-api.ts';
import { loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { instanceIdentity, kubeUserAgent } from '../../../src/wiring/identity.ts';
import { kubeSecretApi } from '../../../src/kube/secret-api.ts';
import { apiserverStandIn, clientFor, json, waitUntil } from '../../support/apiserver-stand-in.ts';

describe('Kubernetes requests', () => {
  test('a server-side apply sends the method, path, query, JSON body, apply content type and bearer token', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) =>
      json(res, 200, { kind: 'Secret', metadata: { name: 's', namespace: 'ns' } }),
    );
    const api = await clientFor(t, standIn);
    const answer = await api.core.patchNamespacedSecret(
      {
        name: 's',
        namespace: 'ns',
        body: { data: { k: 'dg==' } },
        fieldManager: 'secrets-manager',
        force: true,
      },
      applyPatch,
    );
    assert.equal(answer.metadata?.name, 's');
    const [seen] = standIn.seen;
    assert.equal(seen?.method, 'PATCH');
    assert.equal(seen?.url, '/api/v1/namespaces/ns/secrets/s?fieldManager=secrets-manager&force=true');
    assert.deepEqual(seen?.headers['content-type'], ['application/apply-patch+yaml']);
    assert.deepEqual(seen?.headers['authorization'], ['Bearer the-token']);
    assert.equal(seen?.body, '{"data":{"k":"dg=="}}');
  });

  test("every request carries the replica's User-Agent, so the apiserver's audit log says which replica wrote", async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) =>
      json(res, 200, { kind: 'Secret', metadata: { name: 's', namespace: 'ns' } }),
    );
    const identity = instanceIdentity();
    const api = await clientFor(t, standIn, { userAgent: kubeUserAgent(identity) });
    await api.core.readNamespacedSecret({ name: 's', namespace: 'ns' });
    await api.getJson('/api/v1/namespaces/ns/secrets', {});
    assert.deepEqual(
      standIn.seen.map((seen) => seen.headers['user-agent']),
      [
        [`secrets-manager (${hostname()}_${process.pid})`],
        [`secrets-manager (${hostname()}_${process.pid})`],
      ],
    );
  });

  test('impersonation from the kubeconfig (as, as-uid, as-groups, as-user-extra) is sent on requests and watches, one line per value', async (t) => {
    const standIn = await apiserverStandIn(t, (seen, res) => {
      if (seen.url.includes('watch=true')) res.end();
      else json(res, 200, { items: [], metadata: {} });
    });
    const api = await clientFor(
      t,
      standIn,
      {},
      {
        token: 't',
        as: 'system:serviceaccount:ops:sm',
        'as-uid': 'u-1',
        'as-groups': ['a', 'b'],
        'as-user-extra': { scopes: ['view', 'edit'] },
      },
    );
    await api.getJson('/api/v1/secrets', {});
    let ended = false;
    await api.watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      () => (ended = true),
    );
    await waitUntil(() => ended);
    for (const seen of standIn.seen) {
      assert.deepEqual(
        [
          seen.headers['impersonate-user'],
          seen.headers['impersonate-uid'],
          seen.headers['impersonate-group'],
          seen.headers['impersonate-extra-scopes'],
        ],
        [['system:serviceaccount:ops:sm'], ['u-1'], ['a', 'b'], ['view', 'edit']],
        seen.url,
      );
    }
    assert.equal(standIn.seen.length, 2);
  });

  test('a name that would move the path ("", ".", "..") is refused before anything is sent', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    const secrets = kubeSecretApi(await clientFor(t, standIn), 'secrets-manager');
    for (const name of ['', '.', '..']) {
      await assert.rejects(secrets.delete('ns', name, 'uid'), /cannot be a name in a Kubernetes API path/);
      await assert.rejects(secrets.read(name, 's'), /cannot be a name in a Kubernetes API path/);
    }
    assert.deepEqual(standIn.seen, []);
  });

  test('the library\'s own trap, shown: a name ".." sent unguarded would reach the namespace itself', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    const api = await clientFor(t, standIn);
    await api.core.deleteNamespacedSecret({ name: '..', namespace: 'ns' });
    assert.equal(standIn.seen[0]?.url, '/api/v1/namespaces/ns');
  });

  test("a refused workload patch is a KubeError with the apiserver's status, never the library's text with the headers", async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => {
      res.writeHead(403, { 'content-type': 'application/json', 'set-cookie': 'session=from-a-proxy' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          reason: 'Forbidden',
          code: 403,
          message: 'deployments.apps "web" is forbidden',
        }),
      );
    });
    const error = await restartWorkload(
      await clientFor(t, standIn),
      { kind: 'Deployment', namespace: 'ns', name: 'web', resourceVersion: '7' },
      { db: 'id-1' },
    ).catch((e: unknown) => e);
    assert.ok(error instanceof KubeError);
    assert.equal(error.status, 403);
    assert.equal(
      error.message,
      'restarting Deployment ns/web failed (403 Forbidden): deployments.apps "web" is forbidden',
    );
    assert.equal(describeError(error).includes('session='), false);
  });

  test('requests share a keep-alive pool: twenty requests, at most two connections, however many clients', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, { metadata: {} }));
    const { kubeConfig } = loadKubeConfig({ kubeconfig: await standIn.kubeconfig() });
    t.after(() => kubeConfig.close());
    const [reads, writes] = [kubeApi(kubeConfig), kubeApi(kubeConfig)];
    for (let i = 0; i < 10; i += 1) {
      await reads.core.readNamespace({ name: 'x' });
      await writes.getJson('/api/v1/namespaces/x', {});
    }
    // undici opens a second connection when a request starts before the first one's is released.
    assert.ok(standIn.connections() <= 2, `${standIn.connections()} connections`);
    assert.equal(kubeConfig.pools, 1);
  });

  test('a request aborted while it still connects to a silent apiserver returns at once, and closing the clients ends at the grace', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, { metadata: {} }));
    // Takes the connection and never answers the TLS handshake, as a frozen apiserver would.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const socket of held) socket.destroy();
      silent.close();
    });
    const server = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const { kubeConfig } = loadKubeConfig({ kubeconfig: await standIn.kubeconfig(undefined, { server }) });
    // undici's connect timeout is 10 s: what is over before 5 s did not wait for it.
    const beforeConnectTimeout = <T>(pending: Promise<T>): Promise<T | 'waited for the connect timeout'> =>
      Promise.race([
        pending,
        new Promise<'waited for the connect timeout'>((resolve) =>
          setTimeout(() => resolve('waited for the connect timeout'), 5_000).unref(),
        ),
      ]);
    const abort = new AbortController();
    const reason = new Error('the caller gave up');
    const answer = kubeApi(kubeConfig)
      .core.readNamespace({ name: 'x' }, withCallSignal(abort.signal))
      .then(
        () => 'answered',
        (e: unknown) => (e === reason ? 'gave up' : `another error: ${String(e)}`),
      );
    await waitUntil(() => held.length === 1);
    abort.abort(reason);
    assert.equal(await beforeConnectTimeout(answer), 'gave up');
    const closing = kubeConfig.close(50).then(() => 'closed');
    assert.equal(await beforeConnectTimeout(closing), 'closed');
  });

  test("an error answer keeps its status and Status object; the library's message, which holds the body and headers, is never used", async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) =>
      json(res, 404, { kind: 'Status', reason: 'NotFound', message: 'secrets "s" not found', code: 404 }),
    );
    const error = await (
      await clientFor(t, standIn)
    ).core
      .readNamespacedSecret({ name: 's', namespace: 'ns' })
      .catch((e: unknown) => e);
    assert.match(String((error as Error).message), /Body: .*Headers: /s);
    const failure = toKubeError(error, 'reading Secret ns/s');
    assert.deepEqual([failure.status, failure.reason], [404, 'NotFound']);
    assert.equal(failure.message, 'reading Secret ns/s failed (404 NotFound): secrets "s" not found');
  });

  test('a 429 is sent again after its Retry-After, the same body each time, at most five times in all', async (t) => {
    let refusals = 2;
    const standIn = await apiserverStandIn(t, (_seen, res) => {
      if (refusals-- > 0) {
        res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', reason: 'TooManyRequests', code: 429 }));
      } else json(res, 201, { metadata: { name: 'e' } });
    });
    let throttled = 0;
    const api = await clientFor(t, standIn, { throttle: async () => void (throttled += 1) });
    const body = { metadata: { name: 'e' }, involvedObject: {} };
    await api.core.createNamespacedEvent({ namespace: 'ns', body });
    assert.equal(standIn.seen.length, 3);
    assert.deepEqual(
      standIn.seen.map((s) => JSON.parse(s.body) as unknown),
      Array(3).fill(body),
    );
    assert.equal(throttled, 3, 'every attempt waits for the rate limit');

    refusals = 100;
    const error = await api.core.readNamespace({ name: 'x' }).catch((e: unknown) => e);
    assert.equal(toKubeError(error, 'reading').status, 429);
    assert.equal(standIn.seen.length, 3 + 5);
  });

  test('every exchange is reported with its method and status, each 429 retry and each watch included; no answer as undefined', async (t) => {
    let refusals = 1;
    const standIn = await apiserverStandIn(t, (seen, res) => {
      if (seen.url.startsWith('/api/v1/namespaces/gone')) res.socket?.destroy();
      else if (seen.url.includes('watch=true')) res.writeHead(200).flushHeaders();
      else if (refusals-- > 0) {
        res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
        res.end('{}');
      } else json(res, seen.method === 'PATCH' ? 409 : 200, {});
    });
    const reported: string[] = [];
    const api = await clientFor(t, standIn, {
      observe: (method, status) => reported.push(`${method} ${status}`),
    });
    await api.core.readNamespace({ name: 'x' });
    await assert.rejects(api.core.patchNamespace({ name: 'x', body: {} }));
    await assert.rejects(api.core.deleteNamespace({ name: 'gone' }));
    let ended = false;
    const watch = await api.watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      () => (ended = true),
    );
    // Answered: counted once, and not again when it is aborted.
    await waitUntil(() => reported.length === 5);
    watch.abort();
    await waitUntil(() => ended);
    await waitUntil(() => reported.length === 5);
    assert.deepEqual(reported, ['GET 429', 'GET 200', 'PATCH 409', 'DELETE undefined', 'GET 200']);
  });

  test('no answer is a KubeRequestError without a status; a timeout is never read as a status', async (t) => {
    const standIn = await apiserverStandIn(t, (seen, res) => {
      if (seen.url.includes('gone')) res.socket?.destroy();
    });
    const api = await clientFor(t, standIn, { timeoutMs: 50 });
    const lost = await api.core.readNamespace({ name: 'gone' }).catch((e: unknown) => e);
    assert.ok(lost instanceof KubeRequestError);
    assert.equal(toKubeError(lost, 'reading').status, undefined);
    const slow = await api.core.readNamespace({ name: 'slow' }).catch((e: unknown) => e);
    assert.equal((slow as Error).name, 'TimeoutError');
    const failure = toKubeError(slow, 'reading namespace slow');
    assert.equal(failure.status, undefined);
    assert.equal(failure.message, 'reading namespace slow failed: no answer within 50 ms');
  });

  test('every request, watches included, waits for the throttle (--kube-api-qps) before it is sent', async (t) => {
    const standIn = await apiserverStandIn(t, (seen, res) => {
      if (seen.url.includes('watch=true')) res.writeHead(200).flushHeaders();
      else json(res, 200, {});
    });
    const gate: (() => void)[] = [];
    const api = await clientFor(t, standIn, {
      throttle: () => new Promise<void>((resolve) => gate.push(resolve)),
    });
    const reads = [api.core.readNamespace({ name: 'a' }), api.core.readNamespace({ name: 'b' })];
    const watch = api.watch(
      '/api/v1/namespaces',
      {},
      () => undefined,
      () => undefined,
    );
    await waitUntil(() => gate.length === 3);
    assert.equal(standIn.seen.length, 0, 'nothing is sent before the throttle lets it');
    gate.shift()?.();
    await waitUntil(() => standIn.seen.length === 1);
    assert.equal(gate.length, 2, 'the other two still wait for a token');
    for (const release of gate.splice(0)) release();
    await Promise.all(reads);
    (await watch).abort();
    await waitUntil(() => standIn.seen.length === 3);
  });

  test("a kubeconfig user's tokenFile is read again after a minute, so a rotated token is picked up; a missing file keeps the last", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kube-token-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first\n');
    const standIn = await apiserverStandIn(t, (_seen, res) => json(res, 200, {}));
    let now = 0;
    const { kubeConfig } = loadKubeConfig({
      kubeconfig: await standIn.kubeconfig({ tokenFile, token: 'static-token-loses' }),
      now: () => now,
    });
    t.after(() => kubeConfig.close());
    const api = kubeApi(kubeConfig);
    await api.core.readNamespace({ name: 'x' });
    await writeFile(tokenFile, 'second\n');
    now += 59_000;
    await api.core.readNamespace({ name: 'x' });
    now += 1_000;
    await api.core.readNamespace({ name: 'x' });
    await rm(tokenFile);
    now += 60_000;
    await api.core.readNamespace({ name: 'x' });
    assert.deepEqual(
      standIn.seen.map((s) => s.headers['authorization']?.[0]),
      ['Bearer first', 'Bearer first', 'Bearer second', 'Bearer second'],
    );
  });

  test("the library reverses a configuration's middleware in place on every call, so the operator's has none", async (t) => {
    const order: string[] = [];
    type Stock = NonNullable<NonNullable<Parameters<typeof createConfiguration>[0]>['middleware']>[number];
    const mark = (name: string): Stock => ({
      pre: (context) => {
        order.push(name);
        return new Observable(Promise.resolve(context));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    });
    const httpApi = {
      send: () =>
        new Observable(
          Promise.resolve(
            new ResponseContext(
              200,
              { 'content-type': 'application/json' },
              {
                text: async () => '{}',
                binary: async () => Buffer.from('{}'),
                stream: () => null,
              },
            ),
          ),
        ),
    };
    const stock: Configuration = createConfiguration({
      baseServer: new ServerConfiguration('https://k', {}),
      httpApi,
      middleware: [mark('first'), mark('second')],
    });
    const core = new CoreV1Api(stock);
    await core.readNamespace({ name: 'x' });
    await core.readNamespace({ name: 'x' });
    // The trap, as it is in this version: the second call runs the middleware the other way round.
    assert.deepEqual(order, ['first', 'second', 'second', 'first']);
    const ours = kubeConfiguration(
      loadKubeConfig({ kubeconfig: await (await apiserverStandIn(t, () => undefined)).kubeconfig() })
        .kubeConfig,
      new KubeHttpLibrary(),
    );
    assert.deepEqual(ours.middleware, []);
  });
});

describe('a watch', () => {
  test('delivers every event of the stream in order, lines split across chunks included, then ends', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const lines = [
        { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '2' } } },
        { type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } },
        { type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '4' } } },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n');
      res.write(lines.slice(0, 30));
      setTimeout(() => res.end(`${lines.slice(30)}\n`), 20);
    });
    const events: string[] = [];
    let ended: unknown = 'not yet';
    const api = await clientFor(t, standIn, { random: () => 0.5 });
    await api.watch(
      '/api/v1/secrets',
      { resourceVersion: '1', labelSelector: 'a=b' },
      (type, object) =>
        events.push(
          `${type} ${(object as { metadata: { resourceVersion: string } }).metadata.resourceVersion}`,
        ),
      (error) => (ended = error),
    );
    await waitUntil(() => ended !== 'not yet');
    assert.deepEqual(events, ['ADDED 2', 'BOOKMARK 3', 'MODIFIED 4']);
    assert.equal(ended, undefined);
    assert.equal(
      standIn.seen[0]?.url,
      '/api/v1/secrets?watch=true&resourceVersion=1&labelSelector=a%3Db&timeoutSeconds=450&allowWatchBookmarks=true',
    );
  });

  test('a watch refused by the apiserver ends with its status (a 410 is how an informer knows to list again)', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) =>
      json(res, 410, { kind: 'Status', reason: 'Expired', code: 410 }),
    );
    let ended: unknown;
    await (
      await clientFor(t, standIn)
    ).watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      (error) => (ended = error),
    );
    await waitUntil(() => ended !== undefined);
    assert.equal((ended as { statusCode?: unknown }).statusCode, 410);
  });

  test('a watch without a byte for the idle time ends with a TimeoutError, not after the library default of 30 s; aborting it ends it quietly', async (t) => {
    const standIn = await apiserverStandIn(t, (_seen, res) => res.writeHead(200).flushHeaders());
    let ended: unknown;
    const started = Date.now();
    await (
      await clientFor(t, standIn, { watchIdleMs: 150 })
    ).watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      (e) => (ended = e),
    );
    await waitUntil(() => ended !== undefined);
    assert.equal((ended as Error).name, 'TimeoutError');
    assert.ok(Date.now() - started < 5_000);

    let aborted: unknown = 'not yet';
    const controller = await (
      await clientFor(t, standIn)
    ).watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      (e) => (aborted = e),
    );
    controller.abort();
    await waitUntil(() => aborted !== 'not yet');
    assert.equal(aborted, undefined);
  });
});
