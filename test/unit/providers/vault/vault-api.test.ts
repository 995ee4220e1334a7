// node-vault 0.12's known traps, each held shut: every test here fails if the option or override
// in src/providers/vault/vault-api.ts that closes it is removed.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, test, type TestContext } from 'node:test';
import { ProviderError } from '../../../../src/providers/errors.ts';
import { createHttpTransport } from '../../../../src/providers/vault/transport.ts';
import type { VaultCall, VaultReply, VaultTransport } from '../../../../src/providers/vault/transport.ts';
import { createVaultApi, vaultAnswerOf } from '../../../../src/providers/vault/vault-api.ts';
import { certificateAuthority } from '../../../harness/certificates.ts';

const address = 'http://vault.test:8200';

/** Records what node-vault hands its transport, and answers each call with `answer`. */
function recording(answer: (call: VaultCall) => VaultReply = () => ({ status: 200, body: {} })) {
  const calls: VaultCall[] = [];
  const transport: VaultTransport = {
    async send(call) {
      calls.push(call);
      return answer(call);
    },
  };
  return { calls, transport };
}

const loginAnswer = (token: string): VaultReply => ({
  status: 200,
  body: { auth: { client_token: token, lease_duration: 60, renewable: true } },
});

/** Sets environment variables for the length of a test. */
function withEnv(t: TestContext, values: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  t.after(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
}

describe('node-vault, as the operator configures it', () => {
  test('VAULT_TOKEN, VAULT_PREFIX and VAULT_NAMESPACE in the environment change no request', async (t) => {
    withEnv(t, { VAULT_TOKEN: 'hvs.from-env', VAULT_PREFIX: '/evil', VAULT_NAMESPACE: 'other-team' });
    const { calls, transport } = recording(() => loginAnswer('hvs.issued'));
    const vault = createVaultApi({ address, transport });
    await vault.approleLogin('approle', 'role', 'secret');
    await vault.read(['secret', 'data', 'app'], { token: 'hvs.mine', operation: 'read' });
    assert.deepEqual(
      calls.map((c) => [c.path.join('/'), c.token, c.namespace]),
      [
        ['auth/approle/login', undefined, undefined],
        ['secret/data/app', 'hvs.mine', undefined],
      ],
    );
  });

  test('--vault.namespace is sent as X-Vault-Namespace on every request, logins included', async () => {
    const { calls, transport } = recording(() => loginAnswer('t'));
    const vault = createVaultApi({ address, transport, namespace: 'team-a/eng' });
    await vault.approleLogin('approle', 'role', 'secret');
    await vault.read(['secret', 'data', 'app'], { token: 't', operation: 'read' });
    await vault.renewSelf('t', '600s');
    assert.deepEqual(
      calls.map((c) => c.namespace),
      ['team-a/eng', 'team-a/eng', 'team-a/eng'],
    );
  });

  test('a login does not become the token of later requests: the next login carries none', async () => {
    const { calls, transport } = recording((call) => loginAnswer(`hvs.for-${call.body?.['role'] as string}`));
    const vault = createVaultApi({ address, transport });
    await vault.kubernetesLogin('kubernetes', 'team-a', 'jwt-a');
    await vault.kubernetesLogin('kubernetes', 'team-b', 'jwt-b');
    await vault.health();
    assert.deepEqual(
      calls.map((c) => c.token),
      [undefined, undefined, undefined],
    );
  });

  test('revoke-self sends no body: not its request options, not the token', async () => {
    const { calls, transport } = recording(() => ({ status: 204, body: undefined }));
    await createVaultApi({ address, transport }).revokeSelf('hvs.revoke-me');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.path.join('/'), 'auth/token/revoke-self');
    assert.equal(calls[0]?.method, 'POST');
    assert.equal(calls[0]?.token, 'hvs.revoke-me');
    assert.equal(calls[0]?.body, undefined);
  });

  test('a lease is renewed and revoked at its own path, so a policy can scope both to one role; the body has only the increment', async () => {
    const { calls, transport } = recording(() => ({ status: 200, body: { lease_duration: 60 } }));
    const vault = createVaultApi({ address, transport });
    await vault.renewLease('t', 'database/creds/app/AbC', 600);
    await vault.revokeLease('t', 'database/creds/app/AbC');
    assert.deepEqual(
      calls.map((c) => [c.method, c.path, c.body, c.operation, c.token]),
      [
        [
          'PUT',
          ['sys', 'leases', 'renew', 'database', 'creds', 'app', 'AbC'],
          { increment: 600 },
          'lease-renew',
          't',
        ],
        [
          'PUT',
          ['sys', 'leases', 'revoke', 'database', 'creds', 'app', 'AbC'],
          undefined,
          'lease-revoke',
          't',
        ],
      ],
    );
  });

  test('mount paths are URL path segments, not HTML: an apostrophe stays one, "/" separates', async () => {
    const { calls, transport } = recording(() => loginAnswer('t'));
    const vault = createVaultApi({ address, transport });
    await vault.approleLogin("team's/approle", 'role', 'secret');
    await vault.kubernetesLogin('clusters/east', 'role', 'jwt');
    assert.deepEqual(
      calls.map((c) => c.path),
      [
        ['auth', "team's", 'approle', 'login'],
        ['auth', 'clusters', 'east', 'login'],
      ],
    );
  });

  test('a refusal rejects with its status and body; no answer rejects with the transport error', async () => {
    const { transport } = recording(() => ({ status: 403, body: { errors: ['permission denied'] } }));
    const refused = await createVaultApi({ address, transport })
      .read(['secret', 'data', 'x'], { token: 't', operation: 'read' })
      .catch((e: unknown) => e);
    assert.deepEqual(vaultAnswerOf(refused), { status: 403, body: { errors: ['permission denied'] } });
    const silent: VaultTransport = {
      send: async () => Promise.reject(new ProviderError('VaultUnavailable', 'no answer within 5ms')),
    };
    const lost = await createVaultApi({ address, transport: silent })
      .lookupSelf('t')
      .catch((e: unknown) => e);
    assert.equal(vaultAnswerOf(lost), undefined);
    assert.ok(lost instanceof ProviderError && lost.reason === 'VaultUnavailable');
  });

  test('sys/health answers whatever its status, as node-vault reads it', async () => {
    const { calls, transport } = recording(() => ({ status: 503, body: { sealed: true, version: '2.4.0' } }));
    assert.deepEqual(await createVaultApi({ address, transport }).health(), {
      sealed: true,
      version: '2.4.0',
    });
    assert.deepEqual(calls[0]?.query, { standbyok: 'true', sealedcode: '200', uninitcode: '200' });
  });

  test('a refusal of a secret whose path holds "sys/health" is a refusal: only the health call answers every status', async () => {
    const { transport } = recording(() => ({ status: 403, body: { errors: ['permission denied'] } }));
    const refused = await createVaultApi({ address, transport })
      .read(['secret', 'data', 'payments-sys', 'health-api'], { token: 't', operation: 'read' })
      .catch((e: unknown) => e);
    assert.equal(vaultAnswerOf(refused)?.status, 403);
  });

  test('a path node-vault is given is checked segment by segment: a dot segment never reaches the transport', async () => {
    const { calls, transport } = recording();
    const vault = createVaultApi({ address, transport });
    for (const path of [
      ['secret', '..', 'sys', 'raw'],
      ['secret', '%2e%2e', 'sys', 'raw'],
      ['secret', 'a#b'],
    ]) {
      await assert.rejects(
        vault.read(path, { token: 't', operation: 'read' }),
        { reason: 'InvalidSpec', message: /nothing was sent/ },
        JSON.stringify(path),
      );
    }
    assert.deepEqual(calls, []);
  });

  test('VAULT_SKIP_VERIFY does not turn off certificate checks: TLS is what the flags say', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vault-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ca = await certificateAuthority(dir, 'untrusted');
    const [cert, key] = await Promise.all([readFile(ca.certFile, 'utf8'), readFile(ca.keyFile, 'utf8')]);
    let answered = 0;
    const server = createHttpsServer({ cert, key }, (_req, res) => {
      answered += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"auth":{"client_token":"x"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    withEnv(t, { VAULT_SKIP_VERIFY: 'true' });
    const tlsAddress = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const transport = createHttpTransport({ address: tlsAddress, timeoutMs: 2000, skipVerify: false });
    await assert.rejects(
      createVaultApi({ address: tlsAddress, transport }).approleLogin('approle', 'r', 's'),
      {
        reason: 'VaultUnavailable',
        message: /certificate/,
      },
    );
    assert.equal(answered, 0);
  });

  test('DEBUG=node-vault prints nothing: no URI, no login body, no secret-id', async () => {
    // The debug package reads DEBUG when it is loaded, so this runs in a process of its own.
    const script = `
      import { createServer } from 'node:http';
      import { createHttpTransport } from './src/providers/vault/transport.ts';
      import { createVaultApi } from './src/providers/vault/vault-api.ts';
      const server = createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"auth":{"client_token":"hvs.issued-token","lease_duration":60}}');
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = 'http://127.0.0.1:' + server.address().port;
      const vault = createVaultApi({ address, transport: createHttpTransport({ address, timeoutMs: 2000, skipVerify: false }) });
      await vault.approleLogin('approle', 'the-role-id', 'the-secret-id-0xC0FFEE');
      await vault.read(['secret', 'data', 'app'], { token: 'hvs.issued-token', operation: 'read' });
      server.close();
    `;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '--eval', script],
      {
        cwd: join(import.meta.dirname, '..', '..', '..', '..'),
        env: { ...process.env, DEBUG: 'node-vault', DEBUG_COLORS: 'no' },
      },
    );
    assert.equal(`${stdout}${stderr}`.replace(/.*ExperimentalWarning.*\n?/g, ''), '');
  });
});
