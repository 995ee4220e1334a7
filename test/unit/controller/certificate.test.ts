import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { PkiSpec } from '../../../src/api/types.ts';
import { certificateData, certificateDueAt, certificateFacts } from '../../../src/controller/certificate.ts';
import { testPki } from '../../support/certificates.ts';

const pki = testPki();
after(() => pki.dispose());

const spec: PkiSpec = {
  path: 'pki/issue/web',
  commonName: 'web.team-a.svc',
  altNames: ['web.team-a.svc.cluster.local'],
  ipSans: ['10.0.0.7'],
};
const leaf = pki.leaf({
  commonName: spec.commonName,
  dns: [...spec.altNames, spec.commonName],
  ips: ['10.0.0.7'],
});

/** An answer as Vault's pki/issue gives it. */
const answer = {
  certificate: leaf.certificatePem,
  private_key: leaf.keyPem,
  private_key_type: 'ec',
  issuing_ca: pki.intermediatePem,
  ca_chain: [pki.intermediatePem, pki.rootPem],
  serial_number: 'ignored',
};

const text = (base64: string | undefined): string => Buffer.from(base64 ?? '', 'base64').toString('utf8');
const pems = (base64: string | undefined): string[] =>
  text(base64).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

describe('the Secret data of a PKI answer', () => {
  test('tls.crt is the leaf then the intermediates, ca.crt the root, tls.key the key', () => {
    const data = certificateData(answer);
    assert.ok(typeof data === 'object');
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const [first, second, ...rest] = pems(data['tls.crt']);
    assert.equal(new X509Certificate(first ?? '').subject, `CN=${spec.commonName}`);
    assert.equal(new X509Certificate(second ?? '').subject, 'CN=Test Intermediate');
    assert.deepEqual(rest, [], 'the root is not in tls.crt');
    assert.equal(new X509Certificate(pems(data['ca.crt'])[0] ?? '').subject, 'CN=Test Root');
    assert.equal(text(data['tls.key']).trim(), leaf.keyPem.trim());
    // The chain verifies: leaf by intermediate, intermediate by root.
    const root = new X509Certificate(pems(data['ca.crt'])[0] ?? '');
    const intermediate = new X509Certificate(second ?? '');
    assert.ok(new X509Certificate(first ?? '').verify(intermediate.publicKey));
    assert.ok(intermediate.verify(root.publicKey));
  });

  test('a root issuing directly: no chain, ca.crt is the issuing CA', () => {
    const data = certificateData({ ...answer, ca_chain: undefined, issuing_ca: pki.rootPem });
    assert.ok(typeof data === 'object');
    assert.equal(pems(data['tls.crt']).length, 1);
    assert.equal(new X509Certificate(pems(data['ca.crt'])[0] ?? '').subject, 'CN=Test Root');
  });

  test('an answer without a certificate, a key or a CA says what is missing', () => {
    assert.equal(
      certificateData({ ...answer, private_key: undefined }),
      "Vault's answer holds no certificate and private key",
    );
    assert.equal(
      certificateData({ ...answer, certificate: 42 }),
      "Vault's answer holds no certificate and private key",
    );
    assert.equal(
      certificateData({ ...answer, ca_chain: [], issuing_ca: '' }),
      "Vault's answer holds no issuing CA",
    );
  });
});

describe('the facts of the certificate in a Secret', () => {
  const data = certificateData(answer) as Record<string, string>;

  test('serial as Vault writes it, and the validity', () => {
    const facts = certificateFacts(data, spec);
    assert.ok(typeof facts === 'object');
    const x509 = new X509Certificate(leaf.certificatePem);
    assert.match(facts.serialNumber, /^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    assert.equal(
      facts.serialNumber.replaceAll(':', ''),
      x509.serialNumber.toLowerCase().padStart(facts.serialNumber.replaceAll(':', '').length, '0'),
    );
    assert.equal(facts.notAfter, x509.validToDate.getTime());
    assert.equal(facts.notBefore, x509.validFromDate.getTime());
  });

  test('a certificate that is not the one the spec asks for, or not whole, cannot be kept', () => {
    const stray = Buffer.from(pki.strayKeyPem).toString('base64');
    const cases: [Record<string, string>, PkiSpec, string][] = [
      [{ ...data, 'tls.key': stray }, spec, 'tls.key is not the key of tls.crt'],
      [
        { ...data, 'tls.key': Buffer.from('junk').toString('base64') },
        spec,
        'tls.key does not parse as a private key',
      ],
      [{ 'tls.key': data['tls.key'] ?? '' }, spec, 'the Secret has no tls.crt and tls.key'],
      [
        { ...data, 'tls.crt': Buffer.from('no pem here').toString('base64') },
        spec,
        'tls.crt holds no certificate',
      ],
      [
        {
          ...data,
          'tls.crt': Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----').toString(
            'base64',
          ),
        },
        spec,
        'tls.crt does not parse as a certificate',
      ],
      [data, { ...spec, commonName: 'api.team-a.svc' }, 'the certificate is for another common name'],
      [data, { ...spec, altNames: ['other.team-a.svc'] }, 'the certificate lacks some of spec.pki.altNames'],
      [data, { ...spec, ipSans: ['10.0.0.8'] }, 'the certificate lacks some of spec.pki.ipSans'],
    ];
    for (const [secretData, asked, why] of cases) assert.equal(certificateFacts(secretData, asked), why);
  });

  test('an email altName and an IPv6 address in any spelling match what the certificate holds', () => {
    const other = pki.leaf({
      commonName: 'mail.team-a.svc',
      emails: ['ops@team-a.example'],
      ips: ['2001:db8::1'],
    });
    const otherData = certificateData({
      ...answer,
      certificate: other.certificatePem,
      private_key: other.keyPem,
    });
    assert.ok(typeof otherData === 'object');
    const facts = certificateFacts(otherData, {
      ...spec,
      commonName: 'mail.team-a.svc',
      altNames: ['ops@team-a.example'],
      ipSans: ['2001:DB8:0:0::1'],
    });
    assert.equal(typeof facts, 'object', typeof facts === 'string' ? facts : '');
  });

  test('names compare without regard to case', () => {
    const facts = certificateFacts(data, { ...spec, altNames: ['WEB.team-a.svc.cluster.local'] });
    assert.equal(typeof facts, 'object');
  });
});

describe('when the next certificate is due', () => {
  const day = 86_400_000;
  const facts = { serialNumber: '01:02', notBefore: 0, notAfter: 3 * day };

  test('a third of the lifetime ahead of notAfter by default, brought forward by at most a tenth of that', () => {
    const due = certificateDueAt(facts, undefined);
    assert.ok(due <= 2 * day && due >= 2 * day - Math.min(day / 10, 3_600_000), String(due));
  });

  test('renewBefore ahead of notAfter; the spread is at most an hour', () => {
    const due = certificateDueAt(facts, day);
    assert.ok(due <= 2 * day && due >= 2 * day - 3_600_000, String(due));
  });

  test('the same certificate is due at the same time after a restart; another one is spread elsewhere', () => {
    assert.equal(certificateDueAt(facts, day), certificateDueAt({ ...facts }, day));
    const others = new Set(
      Array.from({ length: 20 }, (_, i) => certificateDueAt({ ...facts, serialNumber: `0a:${i}` }, day)),
    );
    assert.ok(others.size > 15, `20 serials spread over ${others.size} times`);
  });

  test('a renewBefore longer than half the lifetime (a role that cut the TTL asked for) counts as half: never due at once', () => {
    const due = certificateDueAt(facts, 10 * day);
    const half = facts.notBefore + 1.5 * day;
    assert.ok(due <= half && due >= half - 3_600_000, String(due));
  });
});
