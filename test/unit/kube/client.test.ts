import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  KubeApiError,
  KubeClient,
  contentTypes,
  segment,
  type KubeClientOptions,
} from '../../../src/kube/client.ts';
import type { KubeConnection } from '../../../src/kube/connection.ts';
import { toKubeError } from '../../../src/kube/errors.ts';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** An apiserver stand-in: `answer` handles each request; every request and connection is counted. */
async function apiserver(
  t: TestContext,
  answer: (seen: Seen, res: ServerResponse) => void,
): Promise<{ server: string; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(request);
      answer(request, res);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    connections: () => connections,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function client(
  t: TestContext,
  server: string,
  options: KubeClientOptions = {},
  auth: Partial<KubeConnection> = { token: 'the-token' },
): KubeClient {
  const kube = new KubeClient({ server, skipTlsVerify: false, source: 'test', ...auth }, options);
  t.after(() => kube.close());
  return kube;
}

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('the Kubernetes client', () => {
  test('sends the method, path, query, JSON body, content type and bearer token, and answers the JSON', async (t) => {
    const api = await apiserver(t, (_seen, res) =>
      json(res, 200, { kind: 'Secret', metadata: { name: 's' } }),
    );
    const answer = await client(t, api.server).request({
      method: 'PATCH',
      path: '/api/v1/namespaces/ns/secrets/s',
      query: { fieldManager: 'secrets-manager', force: true, dryRun: undefined },
      body: { data: { k: 'dg==' } },
      contentType: contentTypes.apply,
    });
    assert.deepEqual(answer, { kind: 'Secret', metadata: { name: 's' } });
    const [seen] = api.seen;
    assert.equal(seen?.method, 'PATCH');
    assert.equal(seen?.url, '/api/v1/namespaces/ns/secrets/s?fieldManager=secrets-manager&force=true');
    assert.equal(seen?.headers['content-type'], 'application/apply-patch+yaml');
    assert.equal(seen?.headers['authorization'], 'Bearer the-token');
    assert.equal(seen?.body, '{"data":{"k":"dg=="}}');
  });

  test('impersonation from the kubeconfig is sent as Impersonate headers', async (t) => {
    const api = await apiserver(t, (_seen, res) => json(res, 200, {}));
    await client(
      t,
      api.server,
      {},
      {
        token: 't',
        impersonate: { user: 'system:serviceaccount:ops:sm', uid: 'u-1', groups: ['a', 'b'] },
      },
    ).request({ method: 'GET', path: '/api' });
    const headers = api.seen[0]?.headers ?? {};
    assert.deepEqual(
      [headers['impersonate-user'], headers['impersonate-uid'], headers['impersonate-group']],
      ['system:serviceaccount:ops:sm', 'u-1', 'a, b'],
    );
  });

  test('a name that would move the path ("", ".", "..") is refused before anything is sent', () => {
    for (const name of ['', '.', '..'])
      assert.throws(() => segment(name), /cannot be a name in a Kubernetes API path/);
    assert.equal(segment('a b/c'), 'a%20b%2Fc');
  });

  test('a timeout or an abort is never read as an HTTP status', async (t) => {
    const api = await apiserver(t, () => undefined);
    const error = await client(t, api.server, { timeoutMs: 50 })
      .request({ method: 'GET', path: '/api/v1/namespaces' })
      .catch((e: unknown) => e);
    const failure = toKubeError(error, 'listing namespaces');
    assert.equal(failure.status, undefined);
    assert.equal(failure.message, 'listing namespaces failed: no answer within 50 ms');
  });

  test('requests share one keep-alive connection', async (t) => {
    const api = await apiserver(t, (_seen, res) => json(res, 200, {}));
    const kube = client(t, api.server);
    for (let i = 0; i < 20; i += 1) await kube.request({ method: 'GET', path: '/api/v1/namespaces/x' });
    assert.equal(api.connections(), 1);
  });

  test('an error answer is a KubeApiError with the status and the Status object, and its message carries no token', async (t) => {
    const api = await apiserver(t, (_seen, res) =>
      json(res, 404, { kind: 'Status', reason: 'NotFound', message: 'secrets "s" not found', code: 404 }),
    );
    const error = await client(t, api.server)
      .request({ method: 'GET', path: '/api/v1/namespaces/ns/secrets/s' })
      .catch((e: unknown) => e);
    assert.ok(error instanceof KubeApiError);
    assert.equal(error.statusCode, 404);
    assert.equal((error.body as { reason?: string }).reason, 'NotFound');
    const failure = toKubeError(error, 'reading Secret ns/s');
    assert.deepEqual([failure.status, failure.reason], [404, 'NotFound']);
    assert.equal(failure.message, 'reading Secret ns/s failed (404 NotFound): secrets "s" not found');
    assert.doesNotMatch(`${error.message} ${failure.message}`, /the-token/);
  });

  test("a refused Secret (422) keeps the fields and their faults, never the apiserver's quote of a value", () => {
    const refusal = {
      statusCode: 422,
      body: {
        kind: 'Status',
        reason: 'Invalid',
        code: 422,
        message:
          'Secret "pull" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character \'q\' looking for beginning of value',
        details: {
          causes: [
            {
              reason: 'FieldValueInvalid',
              field: 'data[.dockerconfigjson]',
              message: "invalid character 'q'",
            },
            { reason: 'FieldValueRequired', field: 'data[tls.key]', message: 'Required value' },
          ],
        },
      },
    };
    assert.equal(
      toKubeError(refusal, 'applying Secret ns/pull', true).message,
      'applying Secret ns/pull failed (422 Invalid): the apiserver refused data[.dockerconfigjson]: FieldValueInvalid; data[tls.key]: FieldValueRequired',
    );
    assert.equal(
      toKubeError({ statusCode: 422, body: { reason: 'Invalid' } }, 'applying Secret ns/pull', true).message,
      'applying Secret ns/pull failed (422 Invalid): the apiserver refused the Secret as invalid',
    );
    // An admission webhook's or a policy's own words may quote the data: only who denied it.
    const denied = (message: string) =>
      toKubeError(
        { statusCode: 403, body: { reason: 'Forbidden', message } },
        'applying Secret ns/pull',
        true,
      ).message;
    assert.equal(
      denied(
        'admission webhook "secrets.policy.example" denied the request: password "hunter2" is too short',
      ),
      'applying Secret ns/pull failed (403 Forbidden): admission webhook "secrets.policy.example" denied the request (the rest is not repeated: it may quote the Secret)',
    );
    assert.equal(
      denied(
        "secrets \"pull\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: hunter2 is weak",
      ),
      "applying Secret ns/pull failed (403 Forbidden): secrets \"pull\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request (the rest is not repeated: it may quote the Secret)",
    );
    // RBAC's refusal holds no data, and says what permission is missing.
    assert.match(
      denied(
        'secrets "pull" is forbidden: User "system:serviceaccount:sm:sm" cannot patch resource "secrets"',
      ),
      /cannot patch resource "secrets"$/,
    );
    assert.equal(
      toKubeError(
        { statusCode: 400, body: { reason: 'BadRequest', message: 'bad: hunter2' } },
        'applying',
        true,
      ).message,
      'applying failed (400 BadRequest): the apiserver refused the request (its message is not repeated: it may quote the Secret)',
    );
    // Without Secret data in the request, the apiserver's message is the clearest there is.
    assert.match(toKubeError(refusal, 'updating the status', false).message, /is invalid: data/);
  });

  test('a 429 is sent again after its Retry-After, the same body each time, at most five times in all', async (t) => {
    let refusals = 2;
    const api = await apiserver(t, (_seen, res) => {
      if (refusals-- > 0) {
        res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', reason: 'TooManyRequests', code: 429 }));
      } else json(res, 201, { metadata: { name: 'e' } });
    });
    let throttled = 0;
    const kube = client(t, api.server, { throttle: async () => void (throttled += 1) });
    const body = { metadata: { name: 'e' } };
    assert.deepEqual(
      await kube.request({ method: 'POST', path: '/api/v1/namespaces/ns/events', body }),
      body,
    );
    assert.deepEqual(
      api.seen.map((s) => s.body),
      Array(3).fill(JSON.stringify(body)),
    );
    assert.equal(throttled, 3, 'every attempt waits for the rate limit');

    refusals = 100;
    const error = await kube.request({ method: 'GET', path: '/api' }).catch((e: unknown) => e);
    assert.ok(error instanceof KubeApiError);
    assert.equal(error.statusCode, 429);
    assert.equal(api.seen.length, 3 + 5);
  });

  test('every exchange is reported with its method and status, each 429 retry and each watch included; no answer as undefined', async (t) => {
    let refusals = 1;
    let watchClosed = false;
    const api = await apiserver(t, (seen, res) => {
      if (seen.url.startsWith('/gone')) res.socket?.destroy();
      else if (seen.url.includes('watch=true')) {
        res.on('close', () => (watchClosed = true));
        res.writeHead(200).flushHeaders();
      } else if (refusals-- > 0) {
        res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
        res.end('{}');
      } else json(res, seen.method === 'PATCH' ? 409 : 200, {});
    });
    const reported: string[] = [];
    const kube = client(t, api.server, {
      onResponse: (method, status) => reported.push(`${method} ${status}`),
    });
    await kube.request({ method: 'GET', path: '/api' });
    await assert.rejects(kube.request({ method: 'PATCH', path: '/api/x', body: {} }));
    await assert.rejects(kube.request({ method: 'DELETE', path: '/gone' }));
    const watch = await kube.watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      () => undefined,
    );
    await waitUntil(() => reported.length === 5);
    watch.abort();
    // The aborted watch's request reports its error later: an answered exchange is not counted twice.
    await waitUntil(() => watchClosed);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(reported, ['GET 429', 'GET 200', 'PATCH 409', 'DELETE undefined', 'GET 200']);
  });

  test('no answer is a KubeApiError without a status', async (t) => {
    const api = await apiserver(t, (_seen, res) => res.socket?.destroy());
    const error = await client(t, api.server)
      .request({ method: 'GET', path: '/api/v1/namespaces' })
      .catch((e: unknown) => e);
    assert.ok(error instanceof KubeApiError);
    assert.equal(error.statusCode, undefined);
    assert.equal(toKubeError(error, 'listing').status, undefined);
  });

  test('a request that outlives its timeout is abandoned', async (t) => {
    const api = await apiserver(t, () => undefined);
    await assert.rejects(
      client(t, api.server, { timeoutMs: 50 }).request({ method: 'GET', path: '/api/v1/namespaces' }),
      { name: 'TimeoutError' },
    );
  });

  test('every request, watches included, waits for the throttle (--kube-api-qps) before it is sent', async (t) => {
    const api = await apiserver(t, (seen, res) => {
      if (seen.url.includes('watch=true')) res.writeHead(200).flushHeaders();
      else json(res, 200, {});
    });
    const gate: (() => void)[] = [];
    const kube = client(t, api.server, {
      throttle: () => new Promise<void>((resolve) => gate.push(resolve)),
    });
    const reads = [
      kube.request({ method: 'GET', path: '/api/v1/namespaces/a' }),
      kube.request({ method: 'GET', path: '/api/v1/namespaces/b' }),
    ];
    const watch = kube.watch(
      '/api/v1/namespaces',
      {},
      () => undefined,
      () => undefined,
    );
    await waitUntil(() => gate.length === 3);
    assert.equal(api.seen.length, 0, 'nothing is sent before the throttle lets it');
    gate.shift()?.();
    await reads[0];
    assert.equal(api.seen.length, 1);
    for (const release of gate.splice(0)) release();
    await reads[1];
    (await watch).abort();
    await waitUntil(() => api.seen.length === 3);
  });

  test('a token file is read again after the re-read interval, so a rotated token is picked up', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kube-token-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first\n');
    const api = await apiserver(t, (_seen, res) => json(res, 200, {}));
    const kube = client(t, api.server, { tokenRereadMs: 0 }, { tokenFile });
    await kube.request({ method: 'GET', path: '/api' });
    await writeFile(tokenFile, 'second\n');
    await kube.request({ method: 'GET', path: '/api' });
    assert.deepEqual(
      api.seen.map((s) => s.headers['authorization']),
      ['Bearer first', 'Bearer second'],
    );
  });
});

describe('a watch', () => {
  test('delivers every event of the stream in order, lines split across chunks included, then ends', async (t) => {
    const api = await apiserver(t, (_seen, res) => {
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
    await client(t, api.server, { random: () => 0.5 }).watch(
      '/api/v1/secrets',
      { resourceVersion: '1', allowWatchBookmarks: true, labelSelector: 'a=b' },
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
      api.seen[0]?.url,
      '/api/v1/secrets?resourceVersion=1&allowWatchBookmarks=true&labelSelector=a%3Db&timeoutSeconds=450&watch=true',
    );
  });

  test('a watch refused by the apiserver ends with its status', async (t) => {
    const api = await apiserver(t, (_seen, res) =>
      json(res, 403, { kind: 'Status', reason: 'Forbidden', message: 'no' }),
    );
    let ended: unknown;
    await client(t, api.server).watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      (error) => (ended = error),
    );
    await waitUntil(() => ended !== undefined);
    assert.ok(ended instanceof KubeApiError);
    assert.equal(ended.statusCode, 403);
  });

  test('a watch without a byte for the idle time ends with a TimeoutError; aborting it ends it quietly', async (t) => {
    const api = await apiserver(t, (_seen, res) => res.writeHead(200).flushHeaders());
    let ended: unknown;
    await client(t, api.server, { watchIdleMs: 100 }).watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      (e) => (ended = e),
    );
    await waitUntil(() => ended !== undefined);
    assert.equal((ended as Error).name, 'TimeoutError');

    let aborted: unknown = 'not yet';
    const controller = await client(t, api.server).watch(
      '/api/v1/secrets',
      {},
      () => undefined,
      (e) => (aborted = e),
    );
    controller.abort();
    assert.equal(aborted, undefined);
  });
});
