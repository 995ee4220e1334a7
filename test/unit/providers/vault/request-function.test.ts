// The request function node-vault is given: the final URI it built is checked before anything is
// sent, whatever node-vault (or a later version of it) put there.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkedTarget, vaultRequestFunction } from '../../../../src/providers/vault/request-function.ts';
import type { VaultCall, VaultTransport } from '../../../../src/providers/vault/transport.ts';

const address = 'https://vault.example:8200';

function recording() {
  const calls: VaultCall[] = [];
  const transport: VaultTransport = {
    async send(call) {
      calls.push(call);
      return { status: 200, body: { ok: true } };
    },
  };
  return { calls, send: vaultRequestFunction(address, transport).defaults({ strictSSL: false }) };
}

describe('the request function node-vault sends through', () => {
  test('a URI below the address is passed on as decoded segments, with its token, body, signal and priority', async () => {
    const { calls, send } = recording();
    const signal = new AbortController().signal;
    const response = await send({
      method: 'POST',
      uri: `${address}/v1/auth/team%20a/login`,
      headers: { 'X-Vault-Token': 'hvs.t', 'X-Vault-Namespace': 'ns1' },
      json: { role: 'r' },
      operation: 'login',
      signal,
      priority: 'refresh',
    });
    assert.deepEqual(response, {
      statusCode: 200,
      body: { ok: true },
      request: { path: '/v1/(login)' },
    });
    assert.deepEqual(calls, [
      {
        method: 'POST',
        path: ['auth', 'team a', 'login'],
        operation: 'login',
        token: 'hvs.t',
        namespace: 'ns1',
        body: { role: 'r' },
        signal,
        priority: 'refresh',
      },
    ]);
  });

  test('an address with a path prefix keeps it: the API path starts after its /v1/', () => {
    assert.deepEqual(checkedTarget('https://h/vault/', 'https://h/vault/v1/sys/health?standbyok=true'), {
      path: ['sys', 'health'],
      query: { standbyok: 'true' },
    });
  });

  test('anything that could reach another endpoint is refused, and nothing is sent', async () => {
    const hostile = [
      'https://vault.example:8200/v1/secret/%2e%2e/sys/raw',
      'https://vault.example:8200/v1/secret/../sys/raw',
      'https://vault.example:8200/v1/secret/%252e%252e/x',
      'https://vault.example:8200/v1/secret/a%2Fb',
      'https://vault.example:8200/v1/secret/a#b',
      'https://vault.example:8200/v1/secret/&#39;x',
      'https://vault.example:8200/v1/secret//x',
      'https://vault.example:8200/v1/secret/x/',
      'https://vault.example:8200/v1/secret/a\\b',
      'https://vault.example:8200/v1/secret/%E0%A4%A',
      'https://vault.example:8200/v1/secret/x?version=1&version=2#',
      'https://vault.example:8200/v1/secret/x?a=%2',
      'https://vault.example:8200/v1/secret/x?version=1&version=2',
      'https://vault.example:8200/evil/v1/secret/x',
      'https://vault.example:82000/v1/secret/x',
      'https://other.example:8200/v1/secret/x',
      'http://vault.example:8200/v1/secret/x',
      'https://vault.example:8200.evil/v1/secret/x',
    ];
    const { calls, send } = recording();
    for (const uri of hostile) {
      await assert.rejects(
        send({ method: 'GET', uri, operation: 'read' }),
        { name: 'ProviderError', reason: 'InvalidSpec', message: /nothing was sent/ },
        uri,
      );
    }
    assert.deepEqual(calls, []);
  });

  test('a raw character that needed encoding is refused: each segment is encoded exactly once', () => {
    assert.throws(() => checkedTarget(address, `${address}/v1/secret/with space`), /exactly once/);
    assert.deepEqual(checkedTarget(address, `${address}/v1/secret/with%20space/caf%C3%A9`).path, [
      'secret',
      'with space',
      'café',
    ]);
  });

  test('only GET, POST and PUT, only with an operation named, only with an object body', async () => {
    const { calls, send } = recording();
    const uri = `${address}/v1/secret/data/x`;
    await assert.rejects(send({ method: 'DELETE', uri, operation: 'read' }), /method/);
    await assert.rejects(send({ method: 'LIST', uri, operation: 'read' }), /method/);
    await assert.rejects(send({ method: 'GET', uri }), /names no operation/);
    await assert.rejects(send({ method: 'GET', uri, operation: 'write' }), /names no operation/);
    await assert.rejects(send({ method: 'POST', uri, operation: 'login', json: 'text' }), /body/);
    assert.deepEqual(calls, []);
  });
});
