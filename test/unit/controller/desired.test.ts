import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecretDefinition, SecretDefinitionSpec } from '../../../src/api/types.ts';
import { desiredSecret, goBase64, sourceId, type SourceData } from '../../../src/controller/desired.ts';
import { inThreadRenderer } from '../../../src/controller/template.ts';

function definition(
  spec: Partial<SecretDefinitionSpec>,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): SecretDefinition {
  return {
    metadata: {
      name: 'app',
      namespace: 'team-a',
      uid: 'uid-1',
      generation: 1,
      resourceVersion: '1',
      labels,
      annotations,
      finalizers: [],
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: {
      name: 'app-secret',
      type: 'Opaque',
      keysMap: {},
      dataFrom: [],
      deletionPolicy: 'Delete',
      rolloutRestartTargets: [],
      ...spec,
    },
    status: {},
  };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function vault(entries: Record<string, SourceData>): Map<string, SourceData> {
  return new Map(Object.entries(entries));
}

describe('the desired Secret', () => {
  test('takes each keysMap value from its path and key, two keys of one path from the same data', async () => {
    const result = await desiredSecret(
      definition({
        keysMap: {
          user: { path: 'secret/db', key: 'username', encoding: 'text' },
          pass: { path: 'secret/db', key: 'password', encoding: 'text' },
        },
      }),
      vault({ 'secret/db': { username: 'app', password: 'hunter2' } }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.secret.data, { user: b64('app'), pass: b64('hunter2') });
    assert.equal(result.secret.name, 'app-secret');
    assert.equal(result.secret.namespace, 'team-a');
    assert.equal(result.secret.type, 'Opaque');
  });

  test('writes non-string values as their JSON text', async () => {
    const result = await desiredSecret(
      definition({
        keysMap: {
          port: { path: 'secret/db', key: 'port', encoding: 'text' },
          flags: { path: 'secret/db', key: 'flags', encoding: 'text' },
          on: { path: 'secret/db', key: 'on', encoding: 'text' },
        },
      }),
      vault({ 'secret/db': { port: 5432, flags: { a: [1, 'b'] }, on: true } }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.secret.data, { port: b64('5432'), flags: b64('{"a":[1,"b"]}'), on: b64('true') });
  });

  test('passes base64-encoded values through so Kubernetes decodes them once', async () => {
    const result = await desiredSecret(
      definition({ keysMap: { cert: { path: 'secret/tls', key: 'crt', encoding: 'base64' } } }),
      vault({ 'secret/tls': { crt: b64('-----BEGIN CERTIFICATE-----') } }),
    );
    assert.ok(result.ok);
    assert.equal(
      Buffer.from(result.secret.data['cert'] ?? '', 'base64').toString(),
      '-----BEGIN CERTIFICATE-----',
    );
  });

  test("base64 is decoded exactly as Go's base64.StdEncoding.DecodeString decodes it (the original's)", async () => {
    // Each row: the input, and what Go gives back re-encoded, or undefined where Go fails
    // (from running Go 1.26's encoding/base64 on these inputs).
    const go: [string, string | undefined][] = [
      ['YWJj', 'YWJj'],
      ['YWJj\n', 'YWJj'],
      ['YW\r\nJj', 'YWJj'],
      ['YQ==', 'YQ=='],
      ['YQ=\n=', 'YQ=='],
      ['', ''],
      ['\n', ''],
      ['YR==', 'YQ=='],
      ['YWJ=', 'YWI='],
      ['/+8=', '/+8='],
      ['YQ', undefined],
      ['YQ=', undefined],
      ['YWJj YWJj', undefined],
      ['YQ==YQ==', undefined],
      ['Y===', undefined],
      ['YWJj\t', undefined],
      ['-_8=', undefined],
    ];
    for (const [input, expected] of go) assert.equal(goBase64(input), expected, JSON.stringify(input));
  });

  test('a PEM-style base64 value with line breaks lands in the Secret as one canonical line', async () => {
    const pem = b64('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const wrapped = `${pem.slice(0, 20)}\r\n${pem.slice(20, 40)}\n${pem.slice(40)}\n`;
    const result = await desiredSecret(
      definition({ keysMap: { cert: { path: 'secret/tls', key: 'crt', encoding: 'base64' } } }),
      vault({ 'secret/tls': { crt: wrapped } }),
    );
    assert.ok(result.ok);
    assert.equal(result.secret.data['cert'], pem);
  });

  test('refuses invalid base64 without naming the value', async () => {
    const result = await desiredSecret(
      definition({ keysMap: { cert: { path: 'secret/tls', key: 'crt', encoding: 'base64' } } }),
      vault({ 'secret/tls': { crt: 'not*base64!' } }),
    );
    assert.deepEqual(result, {
      ok: false,
      reason: 'InvalidValue',
      message: 'key "crt" at Vault path secret/tls is not valid base64 (encoding: base64, Secret key "cert")',
    });
  });

  test('is all or nothing: one missing key fails the whole Secret', async () => {
    const result = await desiredSecret(
      definition({
        keysMap: {
          a: { path: 'secret/x', key: 'present', encoding: 'text' },
          b: { path: 'secret/x', key: 'absent', encoding: 'text' },
        },
      }),
      vault({ 'secret/x': { present: 'yes' } }),
    );
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'KeyNotFound');
    assert.match(!result.ok ? result.message : '', /key "absent" not found at Vault path secret\/x/);
  });

  test('copies every key of dataFrom sources, with keysMap winning on clashes', async () => {
    const result = await desiredSecret(
      definition({
        dataFrom: [{ path: 'kv/common' }, { path: 'secret/app', version: 2 }],
        keysMap: { shared: { path: 'secret/override', key: 'v', encoding: 'text' } },
      }),
      vault({
        'kv/common': { shared: 'common', region: 'eu' },
        [sourceId('secret/app', 2)]: { region: 'us', level: 3 },
        'secret/override': { v: 'mine' },
      }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.secret.data, { shared: b64('mine'), region: b64('us'), level: b64('3') });
  });

  test('refuses a dataFrom key that cannot be a Secret data key', async () => {
    const result = await desiredSecret(
      definition({ dataFrom: [{ path: 'kv/common' }] }),
      vault({ 'kv/common': { 'has space': 'x' } }),
    );
    assert.equal(!result.ok && result.reason, 'InvalidValue');
  });

  test('copies labels and annotations, adds managed-by, and drops kubectl last-applied', async () => {
    const result = await desiredSecret(
      definition(
        { keysMap: { a: { path: 'secret/x', key: 'a', encoding: 'text' } } },
        { team: 'a' },
        { note: 'hi', 'kubectl.kubernetes.io/last-applied-configuration': '{...}' },
      ),
      vault({ 'secret/x': { a: '1' } }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.secret.labels, { team: 'a', 'app.kubernetes.io/managed-by': 'secrets-manager' });
    assert.deepEqual(result.secret.annotations, { note: 'hi' });
  });

  test('is owned by its definition under Delete, and not under Retain', async () => {
    const spec = { keysMap: { a: { path: 'secret/x', key: 'a', encoding: 'text' as const } } };
    const data = vault({ 'secret/x': { a: '1' } });
    const owned = await desiredSecret(definition(spec), data);
    assert.ok(owned.ok);
    assert.deepEqual(owned.secret.ownerReference, {
      apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
      kind: 'SecretDefinition',
      name: 'app',
      uid: 'uid-1',
      controller: true,
    });
    const retained = await desiredSecret(definition({ ...spec, deletionPolicy: 'Retain' }), data);
    assert.ok(retained.ok);
    assert.equal(retained.secret.ownerReference, undefined);
  });
});

test('data keys named __proto__ and constructor are keys like any other, from keysMap and dataFrom', async () => {
  const vaultData = JSON.parse('{"__proto__": "p", "constructor": "c"}') as SourceData;
  const result = await desiredSecret(
    definition({
      keysMap: JSON.parse(
        '{"__proto__": {"path": "secret/a", "key": "constructor", "encoding": "text"}}',
      ) as never,
      dataFrom: [{ path: 'secret/a' }],
    }),
    vault({ 'secret/a': vaultData }),
  );
  assert.ok(result.ok);
  assert.deepEqual(Object.entries(result.secret.data), [
    ['__proto__', b64('c')],
    ['constructor', b64('c')],
  ]);
  assert.equal(Object.getPrototypeOf(result.secret.data), Object.prototype);
});

describe('a value read whole (Azure Key Vault)', () => {
  const spec = { keysMap: { token: { path: 'api-token', key: 'value', encoding: 'text' as const } } };

  test('with azure-kv a value without keys is read whole, whatever the key, as the original read it', async () => {
    const result = await desiredSecret(definition(spec), vault({ 'api-token': { '': 't-1' } }), 'azure-kv');
    assert.ok(result.ok);
    assert.deepEqual(result.secret.data, { token: b64('t-1') });
  });

  test('with Vault a key "" is just a key: another key is KeyNotFound', async () => {
    const result = await desiredSecret(definition(spec), vault({ 'api-token': { '': 'root' } }), 'vault');
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.reason, 'KeyNotFound');
  });

  test('a whole value has no keys to copy with dataFrom: InvalidValue saying to use keysMap', async () => {
    const result = await desiredSecret(
      definition({ dataFrom: [{ path: 'api-token' }] }),
      vault({ 'api-token': { '': 't-1' } }),
      'azure-kv',
    );
    assert.equal(result.ok, false);
    assert.match(
      result.ok ? '' : result.message,
      /Key Vault secret api-token \(dataFrom\) is not a JSON object/,
    );
  });
});

describe('templates', () => {
  const fetched = {
    keysMap: {
      user: { path: 'secret/db', key: 'username', encoding: 'text' as const },
      password: { path: 'secret/db', key: 'password', encoding: 'text' as const },
    },
  };
  const values = vault({ 'secret/db': { username: 'app', password: 'hunter2' } });

  test('Replace (the default) writes only the template keys, built from the fetched values as text', async () => {
    const engine = await inThreadRenderer();
    const result = await desiredSecret(
      definition({
        ...fetched,
        template: {
          data: { 'config.yaml': 'user: {{ data.user }}\npassword: {{ data.password }}' },
          mergePolicy: 'Replace',
        },
      }),
      values,
      'vault',
      engine,
    );
    assert.ok(result.ok);
    assert.deepEqual(result.secret.data, { 'config.yaml': b64('user: app\npassword: hunter2') });
  });

  test('Merge writes the fetched keys too, the template winning on a clash', async () => {
    const engine = await inThreadRenderer();
    const result = await desiredSecret(
      definition({
        ...fetched,
        template: { data: { user: '{{ data.user | upcase }}' }, mergePolicy: 'Merge' },
      }),
      values,
      'vault',
      engine,
    );
    assert.ok(result.ok);
    assert.deepEqual(result.secret.data, { user: b64('APP'), password: b64('hunter2') });
  });

  test('a failing template is TemplateError naming the key and position; nothing is built', async () => {
    const engine = await inThreadRenderer();
    const result = await desiredSecret(
      definition({
        ...fetched,
        template: { data: { url: 'ok', dsn: '{{ data.pasword }}' }, mergePolicy: 'Replace' },
      }),
      values,
      'vault',
      engine,
    );
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.reason, 'TemplateError');
    assert.equal(
      result.ok ? '' : result.message,
      'template for key "dsn": undefined variable: data.pasword, line:1, col:4',
    );
  });
});
