import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AzureKvReader, secretData, type SecretFetcher } from '../../../../src/providers/azure-kv/reader.ts';
import { ProviderError } from '../../../../src/providers/errors.ts';
import { AdaptiveRate } from '../../../../src/rate-limit/adaptive-rate.ts';
import { RateLimiter } from '../../../../src/rate-limit/rate-limiter.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

/** A RestError as @azure/core-rest-pipeline throws it: status and code, nothing else read. */
function restError(statusCode: number, code: string): Error {
  return Object.assign(new Error(`${code}: long service message`), { name: 'RestError', statusCode, code });
}

function reader(
  answer: (
    name: string,
    version?: string,
  ) => Promise<{ value?: string; properties?: { contentType?: string } }>,
) {
  const calls: string[] = [];
  const authenticated: boolean[] = [];
  const debug: string[] = [];
  const limiter = new RateLimiter(new FakeClock(), 100, 100);
  const rate = new AdaptiveRate(new FakeClock(), limiter.bucket);
  const fetcher: SecretFetcher = {
    getSecret(name, options) {
      calls.push(options.version ? `${name}@${options.version}` : name);
      return answer(name, options.version);
    },
  };
  const kv = new AzureKvReader({
    fetcher,
    limiter,
    rate,
    clock: new FakeClock(),
    vaultName: 'payments',
    timeoutMs: 5_000,
    authenticated: (ok) => void authenticated.push(ok),
    debug: (message, fields) => void debug.push(`${message}: ${String(fields['error'])}`),
  });
  return { kv, calls, limiter, rate, authenticated, debug };
}

describe('what an Azure Key Vault secret gives', () => {
  test("a value is whole, whatever the key (the original's rule), unless stored as JSON: then a JSON object gives its fields", () => {
    const json = 'application/json';
    assert.deepEqual(secretData('hunter2'), { '': 'hunter2' });
    assert.deepEqual(
      secretData('{"auths":{}}'),
      { '': '{"auths":{}}' },
      'a .dockerconfigjson without a content type',
    );
    assert.deepEqual(secretData(' {"user":"app","port":5432}', json), { user: 'app', port: 5432 });
    assert.deepEqual(secretData('{"a":"1"}', 'application/json; charset=utf-8'), { a: '1' });
    assert.deepEqual(secretData('{"":"x","a":"1"}', json), { a: '1' }, 'no field can pass for a whole value');
    assert.deepEqual(secretData('[1,2]', json), { '': '[1,2]' });
    assert.deepEqual(secretData('{not json', json), { '': '{not json' });
    assert.deepEqual(secretData('{"a":"1"}', 'text/plain'), { '': '{"a":"1"}' });
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
      const { kv, rate } = reader(answer);
      const events: string[] = [];
      rate.congested = () => void events.push('congested');
      rate.healthy = () => void events.push('healthy');
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

  for (const name of [
    'AuthenticationError',
    'AggregateAuthenticationError',
    'AuthenticationRequiredError',
    'CredentialUnavailableError',
  ]) {
    test(`${name}: AuthenticationFailed, a login error, Entra's code in status and its whole text in the debug log only`, async () => {
      const text =
        'ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided. Trace ID: 4b2f Correlation ID: 9e1a Timestamp: 2026-11-27 22:00:00Z';
      const { kv, authenticated, debug } = reader(async () =>
        Promise.reject(Object.assign(new Error(text), { name })),
      );
      const error = await kv.read('db').catch((e: unknown) => e);
      assert.ok(error instanceof ProviderError);
      assert.equal(error.reason, 'AuthenticationFailed');
      assert.equal(
        error.message,
        "the operator could not get a Microsoft Entra token to read Key Vault secret db in payments (AADSTS7000215); see the operator's log",
      );
      assert.deepEqual(authenticated, [false]);
      assert.deepEqual(debug, [`Azure login failed: ${text}`]);
    });
  }

  test('an answer says the identity works again', async () => {
    const { kv, authenticated } = reader(async () => ({ value: 'v' }));
    await kv.read('db');
    assert.deepEqual(authenticated, [true]);
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
