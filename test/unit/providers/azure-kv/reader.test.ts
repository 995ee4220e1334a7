import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AzureKvReader, secretData, type SecretFetcher } from '../../../../src/providers/azure-kv/reader.ts';
import { ProviderError } from '../../../../src/providers/errors.ts';
import { RateLimiter } from '../../../../src/rate-limiter.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

/** A RestError as @azure/core-rest-pipeline throws it: status and code, nothing else read. */
function restError(statusCode: number, code: string): Error {
  return Object.assign(new Error(`${code}: long service message`), { name: 'RestError', statusCode, code });
}

function reader(answer: (name: string, version?: string) => Promise<{ value?: string }>) {
  const calls: string[] = [];
  let logins = 0;
  const limiter = new RateLimiter(new FakeClock(), 100, 100);
  const fetcher: SecretFetcher = {
    getSecret(name, options) {
      calls.push(options.version ? `${name}@${options.version}` : name);
      return answer(name, options.version);
    },
  };
  const kv = new AzureKvReader({
    fetcher,
    limiter,
    clock: new FakeClock(),
    vaultName: 'payments',
    timeoutMs: 5_000,
    loginFailed: () => (logins += 1),
  });
  return { kv, calls, limiter, logins: () => logins };
}

describe('what an Azure Key Vault secret gives', () => {
  test("a plain value is whole (the original's rule); a JSON object gives its fields; JSON that is no object stays whole", () => {
    assert.deepEqual(secretData('hunter2'), { '': 'hunter2' });
    assert.deepEqual(secretData(' {"user":"app","port":5432}'), { user: 'app', port: 5432 });
    assert.deepEqual(secretData('[1,2]'), { '': '[1,2]' });
    assert.deepEqual(secretData('{not json'), { '': '{not json' });
  });
});

describe('reading Azure Key Vault', () => {
  test('a read asks for the name and the pinned version', async () => {
    const { kv, calls } = reader(async () => ({ value: 'v' }));
    assert.deepEqual(await kv.read('db-password'), { '': 'v' });
    assert.deepEqual(await kv.read('db-password', '0123456789abcdef0123456789abcdef'), { '': 'v' });
    assert.deepEqual(calls, ['db-password', 'db-password@0123456789abcdef0123456789abcdef']);
  });

  for (const [status, code, reason, message] of [
    [
      404,
      'SecretNotFound',
      'PathNotFound',
      /^Key Vault secret db in payments was not found \(SecretNotFound\)$/,
    ],
    [
      403,
      'Forbidden',
      'Forbidden',
      /may not read Key Vault secret db in payments \(Forbidden\); grant it the "get" permission/,
    ],
    [401, 'Unauthorized', 'AuthenticationFailed', /refused the operator's token/],
    [
      429,
      'Throttled',
      'ProviderUnavailable',
      /^Key Vault answered 429 \(Throttled\) reading Key Vault secret db/,
    ],
    [500, 'InternalError', 'ProviderUnavailable', /answered 500/],
  ] as const) {
    test(`${status} ${code} is ${reason}, with a message that names the secret and never the service's text`, async () => {
      const { kv } = reader(async () => Promise.reject(restError(status, code)));
      const error = await kv.read('db').catch((e: unknown) => e);
      assert.ok(error instanceof ProviderError);
      assert.equal(error.reason, reason);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /long service message/);
    });
  }

  test('the rate limit hears of throttling and overload (429, 503, no answer), of healthy answers, and not of a missing secret', async () => {
    const heard = async (answer: () => Promise<{ value?: string }>): Promise<string[]> => {
      const { kv, limiter } = reader(answer);
      const events: string[] = [];
      limiter.congested = () => void events.push('congested');
      limiter.healthy = () => void events.push('healthy');
      await kv.read('db').catch(() => undefined);
      return events;
    };
    assert.deepEqual(await heard(async () => Promise.reject(restError(429, 'Throttled'))), ['congested']);
    assert.deepEqual(await heard(async () => Promise.reject(restError(503, 'ServiceUnavailable'))), [
      'congested',
    ]);
    assert.deepEqual(await heard(async () => Promise.reject(new Error('ECONNRESET'))), ['congested']);
    assert.deepEqual(await heard(async () => Promise.reject(restError(404, 'SecretNotFound'))), []);
    assert.deepEqual(await heard(async () => ({ value: 'v' })), ['healthy']);
  });

  test('a credential that cannot get a token is AuthenticationFailed and a login error', async () => {
    const failure = Object.assign(
      new Error(
        'ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided.',
      ),
      {
        name: 'AuthenticationError',
      },
    );
    const { kv, logins } = reader(async () => Promise.reject(failure));
    const error = await kv.read('db').catch((e: unknown) => e);
    assert.ok(error instanceof ProviderError);
    assert.equal(error.reason, 'AuthenticationFailed');
    assert.match(
      error.message,
      /could not get a Microsoft Entra token to read Key Vault secret db in payments: .*AADSTS7000215/,
    );
    assert.equal(logins(), 1);
  });

  test('a name that is no Key Vault name, and a Vault version number, are InvalidSpec before any request', async () => {
    const { kv, calls } = reader(async () => ({ value: 'v' }));
    await assert.rejects(kv.resolve('secret/app'), { reason: 'InvalidSpec' });
    assert.deepEqual(await kv.resolve('db-password'), {
      path: 'db-password',
      apiPath: 'db-password',
      mount: '',
      version: 1,
    });
    await assert.rejects(kv.read('db', 3), { reason: 'InvalidSpec' });
    assert.deepEqual(calls, []);
  });

  test('a secret without a value (a certificate-backed one, say) is PathNotFound', async () => {
    const { kv } = reader(async () => ({}));
    await assert.rejects(kv.read('cert'), { reason: 'PathNotFound', message: /has no value/ });
  });
});
