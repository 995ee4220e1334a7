import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createHttpTransport, requestTarget } from '../../../../src/providers/vault/transport.ts';

/** A real HTTP server that records the raw request line of everything it receives. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly token: string | undefined;
}

let seen: Seen[] = [];
/** The X-Vault-Namespace header of each request, apart: most tests have none. */
let namespaces: (string | undefined)[] = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {};
const server = createServer((req, res) => {
  namespaces.push(req.headers['x-vault-namespace'] as string | undefined);
  seen.push({
    method: req.method ?? '',
    url: req.url ?? '',
    token: req.headers['x-vault-token'] as string | undefined,
  });
  handler(req, res);
});
let address = '';

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const transport = () => createHttpTransport({ address, timeoutMs: 2000, skipVerify: false });

describe('the Vault HTTP transport', () => {
  test('sends each segment percent-encoded exactly once, below /v1/, with the query apart', async () => {
    seen = [];
    handler = (_req, res) => json(res, 200, { data: {} });
    await transport().send({
      method: 'GET',
      path: ['secret', 'data', 'app', 'with space', 'é', "it's+1"],
      query: { version: '3' },
      operation: 'read',
      token: 'hvs.secret-token',
    });
    assert.deepEqual(seen, [
      {
        method: 'GET',
        url: "/v1/secret/data/app/with%20space/%C3%A9/it's%2B1?version=3",
        token: 'hvs.secret-token',
      },
    ]);
  });

  test('the namespace node-vault sets is sent as X-Vault-Namespace; without one, no header', async () => {
    handler = (_req, res) => json(res, 200, { data: {} });
    const request = { method: 'GET', path: ['secret', 'data', 'app'], operation: 'read' } as const;
    namespaces = [];
    await transport().send({ ...request, namespace: 'team-a/eng' });
    await transport().send(request);
    assert.deepEqual(namespaces, ['team-a/eng', undefined]);
  });

  test('an address with a path prefix keeps it in front of /v1/', () => {
    assert.equal(requestTarget('/vault', { path: ['sys', 'health'] }), '/vault/v1/sys/health');
  });

  test('a segment that a URL parser or Vault could reinterpret is refused, and nothing is sent', async () => {
    seen = [];
    handler = (_req, res) => json(res, 200, {});
    const hostile = [
      '..',
      '.',
      '',
      '%2e%2e',
      '%2E%2E',
      '.%2e',
      'a/b',
      '..\\x',
      'a?b',
      'a#b',
      'a\u0000',
      'a\u202e',
      'a\r\nX: y',
    ];
    for (const segment of hostile) {
      await assert.rejects(
        transport().send({ method: 'GET', path: ['kv', segment, 'auth'], operation: 'read', token: 't' }),
        { name: 'ProviderError', reason: 'InvalidSpec', message: /nothing was sent/ },
        JSON.stringify(segment),
      );
    }
    assert.deepEqual(seen, []);
  });

  test('a redirect is followed only to the same path, so it can neither change the request nor move the token', async () => {
    seen = [];
    handler = (req, res) => {
      if (req.url === '/v1/secret/data/a' && seen.length === 1) {
        res.writeHead(307, { location: `${address}/v1/secret/data/a` });
        res.end();
      } else if (req.url === '/v1/secret/data/b') {
        res.writeHead(307, { location: `${address}/v1/auth/token/lookup-self` });
        res.end();
      } else json(res, 200, { data: { data: { k: 'v' } } });
    };
    const reply = await transport().send({
      method: 'GET',
      path: ['secret', 'data', 'a'],
      operation: 'read',
      token: 't',
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/v1/secret/data/a', '/v1/secret/data/a'],
    );
    await assert.rejects(
      transport().send({ method: 'GET', path: ['secret', 'data', 'b'], operation: 'read', token: 't' }),
      { reason: 'VaultUnavailable', message: /redirected a request elsewhere/ },
    );
    assert.equal(seen.filter((s) => s.url.includes('lookup-self')).length, 0);
  });

  test('a Vault that does not answer times out, and a caller can cancel; the token is never in the message', async () => {
    handler = () => {};
    const slow = createHttpTransport({ address, timeoutMs: 100, skipVerify: false });
    await assert.rejects(
      slow.send({ method: 'GET', path: ['secret', 'data', 'a'], operation: 'read', token: 'hvs.hidden' }),
      (error: Error) => {
        assert.match(error.message, /no answer within 100ms/);
        assert.doesNotMatch(error.message, /hvs\.hidden/);
        return true;
      },
    );
    const controller = new AbortController();
    const pending = transport().send({
      method: 'GET',
      path: ['secret', 'data', 'a'],
      operation: 'read',
      token: 't',
      signal: controller.signal,
    });
    controller.abort();
    await assert.rejects(pending, { reason: 'VaultUnavailable', message: /cancelled/ });
  });

  test('an answer larger than 8 MiB is refused', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.alloc(9 * 1024 * 1024, 0x20));
    };
    await assert.rejects(
      transport().send({ method: 'GET', path: ['secret', 'data', 'a'], operation: 'read', token: 't' }),
      { reason: 'InvalidValue', status: 200, message: /larger than 8388608 bytes/ },
    );
  });

  test('a redirect to another host over plain http is refused, and neither the token nor the body reach it', async (t) => {
    const elsewhere: Seen[] = [];
    const other = createServer((req, res) => {
      elsewhere.push({
        method: req.method ?? '',
        url: req.url ?? '',
        token: req.headers['x-vault-token'] as string | undefined,
      });
      json(res, 200, { auth: { client_token: 'stolen' } });
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.2', resolve));
    t.after(() => {
      other.closeAllConnections();
      other.close();
    });
    handler = (req, res) => {
      res.writeHead(307, {
        location: `http://127.0.0.2:${(other.address() as AddressInfo).port}${req.url ?? ''}`,
      });
      res.end();
    };
    await assert.rejects(
      transport().send({
        method: 'POST',
        path: ['auth', 'approle', 'login'],
        operation: 'login',
        body: { role_id: 'r', secret_id: 'the-secret-id' },
      }),
      { reason: 'VaultUnavailable', message: /redirected a request elsewhere \(307\)/ },
    );
    await assert.rejects(
      transport().send({
        method: 'GET',
        path: ['secret', 'data', 'a'],
        operation: 'read',
        token: 'hvs.token',
      }),
      { reason: 'VaultUnavailable' },
    );
    assert.deepEqual(elsewhere, []);
  });

  test('an address with credentials, a query or another scheme is refused', () => {
    for (const bad of ['http://user:pw@vault:8200', 'http://vault:8200/?x=1', 'ftp://vault', 'vault:8200']) {
      assert.throws(
        () => createHttpTransport({ address: bad, timeoutMs: 1000, skipVerify: false }),
        { name: 'ProviderError' },
        bad,
      );
    }
  });
});
