import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger, redact } from '../../../src/observability/logger.ts';

test('credentials are masked by field name and by shape, in a copy', () => {
  const fields = {
    secret_id: 'abc',
    token: 'hvs.CAESIJ0123456789abcdefghijklmn',
    nested: { password: 'p', ok: 'visible' },
    note: 'login with s.0123456789abcdefghijklmnop',
  };
  const masked = redact(fields) as Record<string, unknown>;
  assert.deepEqual(masked, {
    secret_id: '[REDACTED]',
    token: '[REDACTED]',
    nested: { password: '[REDACTED]', ok: 'visible' },
    note: 'login with [REDACTED]',
  });
  assert.equal(fields.secret_id, 'abc', "the caller's object is untouched");
});

test('a JWT in a message is masked in the log line', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const logger = createLogger({ level: 'debug', format: 'json', stream });
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  logger.debug(`refused ${jwt}`, { detail: jwt, count: 3 });
  await new Promise((resolve) => setImmediate(resolve));
  const line = JSON.parse(lines.join('')) as Record<string, unknown>;
  assert.equal(line['message'], 'refused [REDACTED]');
  assert.equal(line['detail'], '[REDACTED]');
  assert.equal(line['count'], 3);
});
