import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSecretDefinition } from '../../../src/api/validate.ts';

function manifest(spec: unknown, metadata: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'secrets-manager.tuenti.io/v1alpha1',
    kind: 'SecretDefinition',
    metadata: { name: 'app', namespace: 'team-a', uid: 'u-1', generation: 2, ...metadata },
    spec,
  };
}

function problemsOf(spec: unknown): readonly string[] {
  const result = parseSecretDefinition(manifest(spec));
  assert.equal(result.valid, false, 'expected the spec to be rejected');
  return result.valid ? [] : result.problems;
}

describe('a valid SecretDefinition', () => {
  test('an original-style manifest is accepted with the defaults the apiserver applies', () => {
    const result = parseSecretDefinition(
      manifest({
        name: 'supersecretnew',
        keysMap: {
          decoded: { path: 'secret/data/pathtosecret1', key: 'value', encoding: 'base64' },
          raw: { path: 'secret/data/pathtosecret1', key: 'value' },
        },
      }),
    );
    assert.ok(result.valid, result.valid ? '' : result.problems.join('; '));
    assert.deepEqual(result.definition.spec, {
      name: 'supersecretnew',
      type: 'Opaque',
      keysMap: {
        decoded: { path: 'secret/data/pathtosecret1', key: 'value', encoding: 'base64' },
        raw: { path: 'secret/data/pathtosecret1', key: 'value', encoding: 'text' },
      },
      dataFrom: [],
      deletionPolicy: 'Delete',
      rolloutRestartTargets: [],
    });
    assert.equal(result.definition.metadata.generation, 2);
  });

  test('extensions are parsed: dataFrom, refreshInterval, deletionPolicy and a pinned version', () => {
    const result = parseSecretDefinition(
      manifest({
        name: 'tls',
        type: 'kubernetes.io/tls',
        keysMap: { 'tls.crt': { path: 'secret/app/tls', key: 'crt', version: 3 } },
        dataFrom: [{ path: 'kv/app/common' }],
        refreshInterval: '1m30s',
        deletionPolicy: 'Retain',
      }),
    );
    assert.ok(result.valid);
    assert.equal(result.definition.spec.refreshIntervalMs, 90_000);
    assert.equal(result.definition.spec.deletionPolicy, 'Retain');
    assert.equal(result.definition.spec.keysMap['tls.crt']?.version, 3);
    assert.deepEqual(result.definition.spec.dataFrom, [{ path: 'kv/app/common' }]);
  });

  test('parsing leaves the caller object untouched', () => {
    const object = manifest({ name: 'a', keysMap: { k: { path: 'secret/a', key: 'k' } } }) as {
      spec: object;
    };
    parseSecretDefinition(object);
    assert.deepEqual(object.spec, { name: 'a', keysMap: { k: { path: 'secret/a', key: 'k' } } });
  });
});

describe('an invalid SecretDefinition names the field to fix', () => {
  test('a missing spec.name', () => {
    assert.deepEqual(problemsOf({ keysMap: { k: { path: 'secret/a', key: 'k' } } }), [
      'spec.name: is required',
    ]);
  });

  test('a Secret name that is not a DNS subdomain', () => {
    const [problem] = problemsOf({ name: 'Bad_Name', keysMap: { k: { path: 'secret/a', key: 'k' } } });
    assert.match(problem ?? '', /^spec\.name: must be a lowercase RFC 1123 subdomain name/);
  });

  test('an unknown encoding', () => {
    assert.deepEqual(
      problemsOf({ name: 'a', keysMap: { k: { path: 'secret/a', key: 'k', encoding: 'hex' } } }),
      ['spec.keysMap.k.encoding: must be one of text, base64'],
    );
  });

  test('a keysMap entry without a key', () => {
    assert.deepEqual(problemsOf({ name: 'a', keysMap: { k: { path: 'secret/a' } } }), [
      'spec.keysMap.k.key: is required',
    ]);
  });

  test('an empty keysMap and no dataFrom', () => {
    assert.deepEqual(problemsOf({ name: 'a', keysMap: {} }), [
      'spec: needs at least one entry in keysMap or dataFrom, or pki, or dynamic',
    ]);
  });

  test('a data key Kubernetes would refuse', () => {
    const [problem] = problemsOf({ name: 'a', keysMap: { 'bad key': { path: 'secret/a', key: 'k' } } });
    assert.match(problem ?? '', /^spec\.keysMap\.bad key: is not a valid Secret data key/);
  });

  test('a malformed Vault path and a traversal segment name the exact problem', () => {
    const pathProblem = (path: string) => problemsOf({ name: 'a', keysMap: { k: { path, key: 'k' } } });
    const suffix = ': a Vault path names one KV secret, like secret/app/db';
    assert.deepEqual(pathProblem('/secret/a'), [
      `spec.keysMap.k.path: has an empty segment (a leading, trailing or doubled "/")${suffix}`,
    ]);
    assert.deepEqual(pathProblem('secret/../sys'), [
      `spec.keysMap.k.path: has a "." or ".." segment${suffix}`,
    ]);
    assert.deepEqual(pathProblem('kv/%2e%2e/auth'), [`spec.keysMap.k.path: contains "%"${suffix}`]);
    assert.deepEqual(pathProblem('kv/..\\auth'), [`spec.keysMap.k.path: contains a backslash${suffix}`]);
    assert.deepEqual(pathProblem('kv/a\u200bb'), [
      `spec.keysMap.k.path: contains the invisible or control character U+200B${suffix}`,
    ]);
    assert.deepEqual(problemsOf({ name: 'a', dataFrom: [{ path: 'secret' }] }), [
      `spec.dataFrom[0].path: needs a mount and a secret name${suffix}`,
    ]);
  });

  test('names Vault and the original accept stay valid: spaces, dots inside names, unicode letters', () => {
    for (const path of [
      'secret/app/with space',
      'secret/.hidden/a..b',
      'secret/data/caf\u00e9',
      'kv/a:b@c=d+e',
    ]) {
      const result = parseSecretDefinition(manifest({ name: 'a', keysMap: { k: { path, key: 'k' } } }));
      assert.equal(result.valid, true, `${path}: ${JSON.stringify(result)}`);
    }
  });

  test('a refreshInterval that is no duration, and one below the minimum', () => {
    assert.match(
      problemsOf({ name: 'a', dataFrom: [{ path: 'secret/a' }], refreshInterval: 'soon' })[0] ?? '',
      /^spec\.refreshInterval: must be a duration/,
    );
    assert.deepEqual(problemsOf({ name: 'a', dataFrom: [{ path: 'secret/a' }], refreshInterval: '100ms' }), [
      'spec.refreshInterval: must be at least 1s',
    ]);
  });

  test('every problem is reported at once, with the object metadata kept for status', () => {
    const result = parseSecretDefinition(manifest({ type: '', keysMap: { k: { key: 'k', encoding: 'x' } } }));
    assert.equal(result.valid, false);
    assert.ok(!result.valid && result.problems.length >= 3, JSON.stringify(result));
    assert.equal(result.metadata.uid, 'u-1');
  });
});

describe('what a path and a version are depends on --backend', () => {
  const version = '0123456789abcdef0123456789abcdef';
  const parse = (backend: 'vault' | 'azure-kv', source: Record<string, unknown>) =>
    parseSecretDefinition(manifest({ name: 'app', keysMap: { v: { key: 'v', ...source } } }), { backend });
  const problems = (backend: 'vault' | 'azure-kv', source: Record<string, unknown>): readonly string[] => {
    const result = parse(backend, source);
    return result.valid ? [] : result.problems;
  };

  test("Azure Key Vault: a secret name, and a version id; the original's manifests (path: the name) stay valid", () => {
    const result = parse('azure-kv', { path: 'db-password', version });
    assert.ok(result.valid, JSON.stringify(result));
    assert.deepEqual(result.definition.spec.keysMap['v'], {
      path: 'db-password',
      key: 'v',
      encoding: 'text',
      version,
    });
  });

  test('Azure Key Vault refuses a Vault path and a version number, saying what it takes instead', () => {
    assert.deepEqual(problems('azure-kv', { path: 'secret/app', version: 3 }), [
      'spec.keysMap.v.path: is not an Azure Key Vault secret name: 1 to 127 letters, digits and "-", like db-password',
      'spec.keysMap.v.version: an Azure Key Vault version is the 32-character id of a secret version',
    ]);
    assert.deepEqual(problems('azure-kv', { path: 'under_score' }), [
      'spec.keysMap.v.path: is not an Azure Key Vault secret name: 1 to 127 letters, digits and "-", like db-password',
    ]);
  });

  test('Vault refuses a secret name without a mount, and a version id', () => {
    assert.deepEqual(problems('vault', { path: 'db-password', version }), [
      'spec.keysMap.v.path: needs a mount and a secret name: a Vault path names one KV secret, like secret/app/db',
      'spec.keysMap.v.version: a Vault version is a KV v2 version number, like 3',
    ]);
  });
});

describe('spec.pki and spec.dynamic', () => {
  test('a PKI definition gets its durations in milliseconds; a dynamic one its defaults', () => {
    const pki = parseSecretDefinition(
      manifest({
        name: 'web-tls',
        type: 'kubernetes.io/tls',
        pki: {
          path: 'pki/issue/web',
          commonName: 'web.team-a.svc',
          altNames: ['web'],
          ttl: '72h',
          renewBefore: '24h',
        },
      }),
    );
    assert.ok(pki.valid, pki.valid ? '' : pki.problems.join('; '));
    assert.deepEqual(pki.definition.spec.pki, {
      path: 'pki/issue/web',
      commonName: 'web.team-a.svc',
      altNames: ['web'],
      ipSans: [],
      ttlMs: 72 * 3_600_000,
      renewBeforeMs: 24 * 3_600_000,
    });
    const dynamic = parseSecretDefinition(manifest({ name: 'db', dynamic: { path: 'database/creds/app' } }));
    assert.ok(dynamic.valid, dynamic.valid ? '' : dynamic.problems.join('; '));
    assert.deepEqual(dynamic.definition.spec.dynamic, {
      path: 'database/creds/app',
      method: 'GET',
      params: {},
      renewPercent: 67,
      revokeOnDelete: true,
    });
  });

  test('what the CRD refuses, validate refuses with the field to fix', () => {
    const pki = { path: 'pki/issue/web', commonName: 'web' };
    assert.deepEqual(problemsOf({ name: 'a', pki, dynamic: { path: 'database/creds/app' } }), [
      'spec: can have pki or dynamic, not both (one issuing path per Secret)',
    ]);
    assert.deepEqual(problemsOf({ name: 'a', pki: { ...pki, path: 'pki/sign/web' } }), [
      'spec.pki.path: must be <mount>/issue/<role>, like pki/issue/web',
    ]);
    assert.deepEqual(problemsOf({ name: 'a', pki: { ...pki, ttl: '1h', renewBefore: '2h' } }), [
      'spec.pki.renewBefore: must be shorter than spec.pki.ttl, or every certificate would be due at once',
    ]);
    assert.deepEqual(
      problemsOf({ name: 'a', dynamic: { path: 'database/creds/app', params: { ttl: '1h' } } }),
      ['spec.dynamic.params: are sent only with method POST; set spec.dynamic.method: POST'],
    );
    assert.ok(
      problemsOf({ name: 'a', dynamic: { path: 'database/creds/app', renewPercent: 95 } }).some((p) =>
        /renewPercent/.test(p),
      ),
    );
    assert.ok(
      problemsOf({ name: 'a', dynamic: { path: 'database/../sys/raw' } }).some((p) =>
        /^spec\.dynamic\.path: /.test(p),
      ),
    );
    assert.ok(problemsOf({ name: 'a', pki: { path: 'pki/issue/web' } }).some((p) => /commonName/.test(p)));
  });

  test('with --backend azure-kv, both are refused with the reason', () => {
    const result = parseSecretDefinition(manifest({ name: 'a', dynamic: { path: 'database/creds/app' } }), {
      backend: 'azure-kv',
    });
    assert.equal(result.valid, false);
    assert.deepEqual(result.valid ? [] : result.problems, [
      'spec.dynamic: Azure Key Vault has no dynamic secrets engine; this operator runs with --backend azure-kv, so use keysMap or dataFrom, or a secrets-manager that runs with --backend vault',
    ]);
  });
});
