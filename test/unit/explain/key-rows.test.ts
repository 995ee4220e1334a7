import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explain } from '../../../src/explain/explanation.ts';
import { formatText } from '../../../src/explain/format-text.ts';
import { definition, found, inputs, password } from './fixtures.ts';

const rowsOf = (e: Awaited<ReturnType<typeof explain>>) => e.keys.map((k) => [k.secretKey, k.found]);

describe('explain key rows follow the rules desiredSecret builds the Secret by', () => {
  test('on Vault a secret holding only key "" has no key "password": the row says key not found, as the verdict does', async () => {
    const e = await explain(await inputs({ sources: [found({ '': password })] }));
    assert.equal(e.verdict.reason, 'KeyNotFound');
    assert.deepEqual(rowsOf(e), [['password', 'keyNotFound']]);
  });

  test('on Azure Key Vault a value without keys is read whole, whatever the key: found, and it syncs', async () => {
    const e = await explain(await inputs({ backend: 'azure-kv', sources: [found({ '': password })] }));
    assert.equal(e.verdict.reason, 'Synced');
    assert.deepEqual(rowsOf(e), [['password', 'found']]);
  });

  test('a dataFrom key "" is shown as the invalid key that makes the verdict InvalidValue', async () => {
    const e = await explain(
      await inputs({
        definition: definition({ keysMap: {}, dataFrom: [{ path: 'secret/app/db' }] }),
        sources: [found({ '': 'x', user: 'app' })],
      }),
    );
    assert.equal(e.verdict.reason, 'InvalidValue');
    assert.deepEqual(rowsOf(e), [
      ['', 'invalidKey'],
      ['user', 'found'],
    ]);
    assert.match(formatText(e), /^""\s+secret\/app\/db \(dataFrom\)\s+latest\s+allowed\s+not a Secret key/m);
  });

  test('a dataFrom key no Secret may have, such as one with a space, is invalid too, not found', async () => {
    const e = await explain(
      await inputs({
        definition: definition({ keysMap: {}, dataFrom: [{ path: 'secret/app/db' }] }),
        sources: [found({ 'db user': 'app' })],
      }),
    );
    assert.equal(e.verdict.reason, 'InvalidValue');
    assert.deepEqual(rowsOf(e), [['db user', 'invalidKey']]);
  });

  test('on Azure Key Vault a dataFrom value that is not a JSON object has no keys to copy', async () => {
    const e = await explain(
      await inputs({
        backend: 'azure-kv',
        definition: definition({ keysMap: {}, dataFrom: [{ path: 'secret/app/db' }] }),
        sources: [found({ '': 'plain text' })],
      }),
    );
    assert.equal(e.verdict.reason, 'InvalidValue');
    assert.deepEqual(rowsOf(e), [['*', 'notAnObject']]);
  });

  test('a keysMap value with encoding base64 that is not base64 is invalid, as the verdict says', async () => {
    const e = await explain(
      await inputs({
        definition: definition({
          keysMap: { password: { path: 'secret/app/db', key: 'password', encoding: 'base64' } },
        }),
        sources: [found({ password: 'not base64!' })],
      }),
    );
    assert.equal(e.verdict.reason, 'InvalidValue');
    assert.deepEqual(rowsOf(e), [['password', 'invalidValue']]);
  });
});
