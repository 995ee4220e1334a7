import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecretDefinitionSpec } from '../../../src/api/types.ts';
import {
  formatIssuedRecord,
  issuedDigest,
  issueFingerprint,
  parseIssuedRecord,
  type IssuedRecord,
} from '../../../src/controller/issued-record.ts';

const base = {
  name: 's',
  type: 'Opaque',
  keysMap: {},
  dataFrom: [],
  deletionPolicy: 'Delete',
  rolloutRestartTargets: [],
} as unknown as SecretDefinitionSpec;
const pki = { path: 'pki/issue/web', commonName: 'web', altNames: ['a'], ipSans: [] };
const dynamic = {
  path: 'database/creds/app',
  method: 'GET' as const,
  params: {},
  renewPercent: 67,
  revokeOnDelete: true,
};

describe('what calls for new certificates or credentials', () => {
  test('the path and what is sent there; not when or what happens next', () => {
    const of = (spec: Partial<SecretDefinitionSpec>): string => issueFingerprint({ ...base, ...spec });
    const cert = of({ pki });
    assert.equal(of({ pki: { ...pki, renewBeforeMs: 3_600_000 } }), cert, 'renewBefore changes only when');
    assert.notEqual(of({ pki: { ...pki, commonName: 'api' } }), cert);
    assert.notEqual(of({ pki: { ...pki, altNames: ['b'] } }), cert);
    assert.equal(
      of({ pki: { ...pki, altNames: ['b', 'a'] } }),
      of({ pki: { ...pki, altNames: ['a', 'b'] } }),
      'names in any order',
    );
    assert.notEqual(of({ pki: { ...pki, ttlMs: 60_000 } }), cert);
    assert.notEqual(of({ pki: { ...pki, path: 'pki/issue/api' } }), cert);
    const creds = of({ dynamic });
    assert.equal(of({ dynamic: { ...dynamic, renewPercent: 50, revokeOnDelete: false } }), creds);
    assert.notEqual(of({ dynamic: { ...dynamic, path: 'database/creds/other' } }), creds);
    assert.notEqual(of({ dynamic: { ...dynamic, method: 'POST', params: { ttl: '1h' } } }), creds);
    assert.equal(
      of({ dynamic: { ...dynamic, method: 'POST', params: { a: '1', b: '2' } } }),
      of({ dynamic: { ...dynamic, method: 'POST', params: { b: '2', a: '1' } } }),
      'params in any order',
    );
  });
});

describe('the digest of the issued keys', () => {
  test('any change of a value, a missing key or an added one changes it; order does not', () => {
    const data = { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5' };
    const keys = ['tls.crt', 'tls.key'];
    const digest = issuedDigest(data, keys);
    assert.equal(issuedDigest({ 'tls.key': 'a2V5', 'tls.crt': 'Y3J0' }, ['tls.key', 'tls.crt']), digest);
    assert.notEqual(issuedDigest({ ...data, 'tls.key': 'b3RoZXI=' }, keys), digest);
    assert.notEqual(issuedDigest({ 'tls.crt': 'Y3J0' }, keys), digest);
    assert.equal(issuedDigest({ ...data, extra: 'eA==' }, keys), digest, 'keys not issued do not count');
  });

  test('holds no value', () => {
    const digest = issuedDigest({ password: Buffer.from('hunter2').toString('base64') }, ['password']);
    assert.doesNotMatch(digest, /hunter2|aHVudGVyMg/);
  });
});

describe('the issued record a Secret carries', () => {
  const record: IssuedRecord = {
    uid: 'uid-1',
    for: 'f1',
    keys: ['username', 'password'],
    digest: 'd1',
    lease: {
      id: 'database/creds/app/abc',
      renewable: true,
      issuedAt: 1_700_000_000_000,
      durationSeconds: 3600,
    },
  };

  test('reads back what was written', () => {
    assert.deepEqual(parseIssuedRecord(formatIssuedRecord(record)), record);
    const certificate: IssuedRecord = {
      uid: record.uid,
      for: record.for,
      keys: record.keys,
      digest: record.digest,
    };
    assert.deepEqual(parseIssuedRecord(formatIssuedRecord(certificate)), certificate);
  });

  test('anything that is not a record of this version is no record', () => {
    const text = formatIssuedRecord(record);
    const edited = (change: (raw: Record<string, unknown>) => void): string => {
      const raw = JSON.parse(text) as Record<string, unknown>;
      change(raw);
      return JSON.stringify(raw);
    };
    const hostile = [
      undefined,
      '',
      'not json',
      'null',
      '[]',
      '"text"',
      edited((r) => (r['v'] = 2)),
      edited((r) => delete r['for']),
      edited((r) => delete r['uid']),
      edited((r) => (r['lease'] = { ...record.lease, issuedAt: Number.MAX_SAFE_INTEGER })),
      edited((r) => (r['lease'] = { ...record.lease, durationSeconds: 2 ** 40 })),
      edited((r) => (r['digest'] = 7)),
      edited((r) => (r['keys'] = 'username')),
      edited((r) => (r['keys'] = ['bad key'])),
      edited((r) => (r['keys'] = Array.from({ length: 65 }, (_, i) => `k${i}`))),
      edited((r) => (r['lease'] = null)),
      edited((r) => (r['lease'] = { ...record.lease, issuedAt: -1 })),
      edited((r) => (r['lease'] = { ...record.lease, durationSeconds: 1.5 })),
      edited((r) => (r['lease'] = { ...record.lease, renewable: 'yes' })),
      edited((r) => (r['lease'] = { ...record.lease, id: 42 })),
      JSON.stringify({ ...JSON.parse(text), pad: 'x'.repeat(9_000) }),
    ];
    for (const value of hostile)
      assert.equal(parseIssuedRecord(value), undefined, String(value).slice(0, 80));
  });
});
