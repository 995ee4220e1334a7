import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  issuedAnnotation,
  type DynamicSpec,
  type PkiSpec,
  type SecretDefinition,
  type SecretDefinitionStatus,
} from '../../../src/api/types.ts';
import { Issuance, type Prepared } from '../../../src/controller/issuance.ts';
import { issueRequest } from '../../../src/controller/issue-request.ts';
import { formatIssuedRecord, parseIssuedRecord } from '../../../src/controller/issued-record.ts';
import type { LiveSecret } from '../../../src/kube/live-secret.ts';
import type { SecretApplyConfig } from '../../../src/kube/secret-api.ts';
import { ProviderError } from '../../../src/providers/errors.ts';
import type {
  IssuedSecret,
  IssueRequest,
  LeaseGrant,
  ProviderSources,
} from '../../../src/providers/provider.ts';
import { testPki } from '../../support/certificates.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const pki = testPki();
after(() => pki.dispose());

const second = 1_000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
const grace = 10 * minute;
const key = 'team-a/app';

const pkiSpec: PkiSpec = { path: 'pki/issue/web', commonName: 'web.team-a.svc', altNames: [], ipSans: [] };
const dynamicSpec: DynamicSpec = {
  path: 'database/creds/app',
  method: 'GET',
  params: {},
  renewPercent: 50,
  revokeOnDelete: true,
};

function definition(
  engine: { pki?: PkiSpec; dynamic?: DynamicSpec },
  status: SecretDefinitionStatus = {},
): SecretDefinition {
  return {
    metadata: {
      name: 'app',
      namespace: 'team-a',
      uid: 'uid-1',
      generation: 1,
      resourceVersion: '1',
      labels: {},
      annotations: {},
      finalizers: [],
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: {
      name: 'app',
      type: 'Opaque',
      keysMap: {},
      dataFrom: [],
      deletionPolicy: 'Delete',
      rolloutRestartTargets: [],
      ...engine,
    },
    status,
  };
}

/** Vault as the issuance sees it: what it was asked, in order; answers set by the test. */
class FakeVault {
  readonly calls: string[] = [];
  /** What the next renewals grant; a ProviderError is thrown. */
  renewal: LeaseGrant | ProviderError = { durationSeconds: 3600, renewable: true };
  issueFailure: ProviderError | undefined;
  /** Set to a test's own answer for the next issues (a dynamic answer by default). */
  answer: (() => IssuedSecret) | undefined;
  /** When the token behind a lease taken up after a restart ends. */
  parentEndsAt: number | undefined;
  #leases = 0;
  readonly #adopted = new Set<string>();

  sources(): ProviderSources {
    const reject = (): never => assert.fail('no reads in the issuance');
    return {
      resolve: reject,
      track: reject,
      untrack: reject,
      get: reject,
      issue: async (request: IssueRequest) => {
        this.calls.push(`issue ${request.method} ${request.path}`);
        if (this.issueFailure) throw this.issueFailure;
        if (this.answer) return this.answer();
        this.#leases += 1;
        return {
          data: { username: `v-app-${this.#leases}`, password: `secret-${this.#leases}`, port: 5432 },
          lease: { id: `database/creds/app/lease${this.#leases}`, durationSeconds: 3600, renewable: true },
        };
      },
      renewLease: async (id: string, increment: number) => {
        this.calls.push(`renew ${id} ${increment}`);
        if (this.renewal instanceof ProviderError) throw this.renewal;
        return this.renewal;
      },
      revokeLease: async (id: string) => void this.calls.push(`revoke ${id}`),
      adoptLease: async (id: string) => {
        this.calls.push(`adopt ${id}`);
        this.#adopted.add(id);
      },
      leaseEndsBy: (id: string) => (this.#adopted.has(id) ? this.parentEndsAt : undefined),
    };
  }
}

function harness(clock = new FakeClock(Date.now())) {
  const vault = new FakeVault();
  const sources = vault.sources();
  const secrets = new Map<string, SecretApplyConfig>();
  const observed: string[] = [];
  /** Each next renewal reported, as the metric would show it. */
  const renewals: [string, number][] = [];
  const issuance = new Issuance({
    clock,
    secrets: { snapshot: async (namespace, name) => secrets.get(`${namespace}/${name}`) },
    graceMs: grace,
    observer: {
      cleared: () => observed.push('cleared'),
      issued: (engine, ok) => observed.push(`issued ${engine} ${ok}`),
      renewed: (ok) => observed.push(`renewed ${ok}`),
      revoked: (ok) => observed.push(`revoked ${ok}`),
      expires: (_ns, _name, engine) => observed.push(`expires ${engine}`),
      renewsAt: (_ns, _name, engine, atMs) => renewals.push([engine, atMs]),
    },
    logger: { info: () => {}, warn: () => {} },
  });
  /** prepare, then what the reconciler does once the Secret is written: answers the live Secret. */
  const sync = async (
    def: SecretDefinition,
    live?: LiveSecret,
  ): Promise<{ prepared: Extract<Prepared, { ok: true }>; live: LiveSecret }> => {
    const prepared = await issuance.prepare(key, def, sources, live);
    assert.ok(prepared.ok, prepared.ok ? '' : prepared.failure.message);
    issuance.committed(key, def);
    secrets.set(key, {
      name: 'app',
      namespace: 'team-a',
      type: 'Opaque',
      labels: {},
      annotations: { [issuedAnnotation]: prepared.annotation },
      data: { ...prepared.data },
      ownerReferences: [],
    });
    return { prepared, live: liveSecret(prepared.annotation) };
  };
  return { clock, vault, sources, secrets, observed, renewals, issuance, sync };
}

function liveSecret(annotation: string): LiveSecret {
  return {
    name: 'app',
    namespace: 'team-a',
    uid: 's-1',
    resourceVersion: '5',
    type: 'Opaque',
    labels: {},
    annotations: { [issuedAnnotation]: annotation },
    ownerReferences: [],
    dataHashes: {},
    applied: {
      dataKeys: new Set(),
      labels: new Set(),
      annotations: new Set(),
      ownerReferenceUids: new Set(),
    },
    createdFields: false,
  };
}

const text = (base64: string | undefined): string => Buffer.from(base64 ?? '', 'base64').toString('utf8');

/** A PKI answer for `spec`, valid `days` days from now. */
function certificateAnswer(spec: PkiSpec, days = 3): () => IssuedSecret {
  return () => {
    const leaf = pki.leaf({ commonName: spec.commonName, dns: [spec.commonName], days });
    return {
      data: {
        certificate: leaf.certificatePem,
        private_key: leaf.keyPem,
        issuing_ca: pki.intermediatePem,
        ca_chain: [pki.intermediatePem, pki.rootPem],
      },
    };
  };
}

describe('issuing a PKI certificate', () => {
  test('issued at the first sync, kept until due, then a new one; never on a refresh', async () => {
    const h = harness();
    h.vault.answer = certificateAnswer(pkiSpec, 3);
    const def = definition({ pki: { ...pkiSpec, renewBeforeMs: day } });
    const first = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(first.ok);
    assert.match(
      first.issued ?? '',
      /^issued a new certificate \(serial [0-9a-f:]+, valid until .+Z\): first sync$/,
    );
    assert.deepEqual(Object.keys(first.data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.ok(first.status.pki);
    assert.equal(Math.floor(first.nextAt / second) * second, Date.parse(first.status.pki.nextRenewal));
    const notAfter = Date.parse(first.status.pki.notAfter);
    assert.ok(first.nextAt <= notAfter - day && first.nextAt >= notAfter - day - hour);

    // Not written yet (the write failed): the same certificate again, not a second one.
    const again = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(again.ok);
    assert.deepEqual(again.data, first.data);
    assert.equal(again.issued, first.issued, 'still news: the Secret does not hold it yet');
    h.issuance.committed(key, def);

    for (const wait of [minute, hour, day]) {
      await h.clock.advance(wait);
      const kept = await h.issuance.prepare(key, def, h.sources, undefined);
      assert.ok(kept.ok);
      assert.deepEqual(kept.data, first.data);
      assert.equal(kept.issued, undefined);
    }
    assert.deepEqual(h.vault.calls, ['issue POST pki/issue/web']);

    await h.clock.advance(first.nextAt - h.clock.now());
    const renewed = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(renewed.ok);
    assert.notDeepEqual(renewed.data, first.data);
    assert.match(renewed.issued ?? '', /: the certificate is due for renewal \(it ends .+Z\)$/);
    assert.ok(Date.parse(renewed.status.pki?.notAfter ?? '') > notAfter - day, 'before the old one expires');
    assert.deepEqual(h.vault.calls, ['issue POST pki/issue/web', 'issue POST pki/issue/web']);
    assert.deepEqual(h.observed, ['issued pki true', 'expires pki', 'issued pki true']);
    // Every prepare says when the certificate it answers is renewed: the metric an alert reads.
    assert.deepEqual(h.renewals.at(-1), ['pki', renewed.nextAt]);
    assert.ok(h.renewals.some(([engine, at]) => engine === 'pki' && at === first.nextAt));
  });

  test('a restarted operator takes up the certificate in the Secret; an edit or a new spec issues again', async () => {
    const h = harness();
    h.vault.answer = certificateAnswer(pkiSpec);
    const def = definition({ pki: pkiSpec });
    const { prepared, live } = await h.sync(def);

    // A new process: nothing in memory, the Secret as it was.
    const restarted = new Issuance({
      clock: h.clock,
      secrets: { snapshot: async (namespace, name) => h.secrets.get(`${namespace}/${name}`) },
      graceMs: grace,
      observer: {
        issued: () => {},
        renewed: () => {},
        revoked: () => {},
        expires: () => {},
        renewsAt: () => {},
        cleared: () => {},
      },
      logger: { info: () => {}, warn: () => {} },
    });
    const taken = await restarted.prepare(key, def, h.sources, live);
    assert.ok(taken.ok);
    assert.deepEqual(taken.data, prepared.data);
    assert.equal(taken.issued, undefined);
    assert.equal(taken.annotation, prepared.annotation);
    assert.deepEqual(h.vault.calls, ['issue POST pki/issue/web'], 'nothing issued after the restart');

    const stored = h.secrets.get(key);
    assert.ok(stored);
    h.secrets.set(key, {
      ...stored,
      data: { ...stored.data, 'tls.key': Buffer.from('edited').toString('base64') },
    });
    const fresh = () =>
      new Issuance({
        clock: h.clock,
        secrets: { snapshot: async (namespace, name) => h.secrets.get(`${namespace}/${name}`) },
        graceMs: grace,
        observer: {
          issued: () => {},
          renewed: () => {},
          revoked: () => {},
          expires: () => {},
          renewsAt: () => {},
          cleared: () => {},
        },
        logger: { info: () => {}, warn: () => {} },
      });
    const edited = await fresh().prepare(key, def, h.sources, live);
    assert.ok(edited.ok);
    assert.match(edited.issued ?? '', /: the Secret's issued keys were changed or removed$/);

    h.secrets.set(key, stored);
    h.vault.answer = certificateAnswer({ ...pkiSpec, commonName: 'api.team-a.svc' });
    const renamed = await fresh().prepare(
      key,
      definition({ pki: { ...pkiSpec, commonName: 'api.team-a.svc' } }),
      h.sources,
      live,
    );
    assert.ok(renamed.ok);
    assert.match(renamed.issued ?? '', /: the spec asks for different ones$/);
    assert.match(text(renamed.data['tls.crt']), /BEGIN CERTIFICATE/);

    h.vault.answer = certificateAnswer(pkiSpec);
    const replaced = await fresh().prepare(key, def, h.sources, { ...live, annotations: {} });
    assert.ok(replaced.ok);
    assert.match(replaced.issued ?? '', /: the Secret records none that were issued$/);
  });

  test('a spec change issues again at once, though the old one is far from due', async () => {
    const h = harness();
    h.vault.answer = certificateAnswer(pkiSpec);
    await h.sync(definition({ pki: pkiSpec }));
    h.vault.answer = certificateAnswer({ ...pkiSpec, commonName: 'api.team-a.svc' });
    const changed = await h.issuance.prepare(
      key,
      definition({ pki: { ...pkiSpec, commonName: 'api.team-a.svc' } }),
      h.sources,
      undefined,
    );
    assert.ok(changed.ok);
    assert.match(changed.issued ?? '', /the spec asks for different ones$/);
    assert.equal(h.vault.calls.length, 2);
  });

  test('a refused issue keeps what the Secret holds and says why, with backoff', async () => {
    const h = harness();
    h.vault.issueFailure = new ProviderError(
      'Forbidden',
      'the Vault policy does not allow issuing at pki/issue/web',
      403,
    );
    const failed = await h.issuance.prepare(key, definition({ pki: pkiSpec }), h.sources, undefined);
    assert.deepEqual(failed, {
      ok: false,
      failure: {
        reason: 'Forbidden',
        message: 'the Vault policy does not allow issuing at pki/issue/web',
        retry: 'backoff',
      },
    });
    assert.deepEqual(h.observed, ['issued pki false']);
  });

  test('an answer that is not the certificate asked for is refused', async () => {
    const h = harness();
    h.vault.answer = certificateAnswer({ ...pkiSpec, commonName: 'other.svc' });
    const failed = await h.issuance.prepare(key, definition({ pki: pkiSpec }), h.sources, undefined);
    assert.ok(!failed.ok);
    assert.equal(failed.failure.reason, 'IssueFailed');
    assert.equal(
      failed.failure.message,
      'the certificate issued at pki/issue/web cannot be used: the certificate is for another common name',
    );
  });
});

describe('dynamic credentials and their lease', () => {
  const def = definition({ dynamic: dynamicSpec });

  test('issued once, renewed at renewPercent for as long again, never issued on a refresh', async () => {
    const h = harness();
    const { prepared } = await h.sync(def);
    assert.equal(text(prepared.data['username']), 'v-app-1');
    assert.equal(text(prepared.data['port']), '5432');
    assert.match(prepared.issued ?? '', /^issued new credentials \(a lease of 3600s\): first sync$/);
    assert.equal(prepared.nextAt, h.clock.now() + 30 * minute);
    assert.deepEqual(prepared.status.dynamic?.leaseDurationSeconds, 3600);
    assert.doesNotMatch(
      JSON.stringify(prepared.status),
      /lease1|secret-1/,
      'no lease id or value in the status',
    );

    await h.clock.advance(29 * minute);
    assert.ok((await h.issuance.prepare(key, def, h.sources, undefined)).ok);
    assert.deepEqual(h.vault.calls, ['issue GET database/creds/app']);

    await h.clock.advance(minute);
    const renewed = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(renewed.ok);
    assert.equal(renewed.issued, undefined);
    assert.deepEqual(renewed.data, prepared.data, 'the same credentials');
    assert.equal(renewed.annotation, prepared.annotation, 'a renewal does not change the Secret');
    assert.equal(renewed.nextAt, h.clock.now() + 30 * minute);
    assert.equal(
      Date.parse(renewed.status.dynamic?.leaseExpiresAt ?? ''),
      Math.floor((h.clock.now() + hour) / second) * second,
    );
    assert.deepEqual(h.vault.calls, ['issue GET database/creds/app', 'renew database/creds/app/lease1 3600']);
    assert.deepEqual(h.renewals.at(-1), ['dynamic', renewed.nextAt], 'the renewal moved the next one');
  });

  test('near the max TTL new credentials come early, and the old lease is revoked a grace period after they are written', async () => {
    const h = harness();
    await h.sync(def);
    await h.clock.advance(30 * minute);
    h.vault.renewal = { durationSeconds: 30 * 60, renewable: true };
    const short = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(short.ok);
    assert.equal(short.issued, undefined, 'the lease still lives: the credentials stay');
    assert.equal(short.nextAt, h.clock.now() + 15 * minute, 'new ones at renewPercent of what is left');

    await h.clock.advance(15 * minute);
    const { prepared } = await h.sync(def);
    assert.equal(text(prepared.data['username']), 'v-app-2');
    assert.match(prepared.issued ?? '', /cannot be renewed for its full length/);
    const lease1Revoked = () => h.vault.calls.includes('revoke database/creds/app/lease1');
    assert.ok(!lease1Revoked(), 'the old lease lives on for the restart');
    await h.clock.advance(grace - second);
    assert.ok(!lease1Revoked());
    await h.clock.advance(second);
    assert.ok(lease1Revoked());
    assert.deepEqual(
      h.observed.filter((o) => o.startsWith('revoked')),
      ['revoked true'],
    );
  });

  test('a lease Vault no longer knows is replaced once; a renewal that fails otherwise keeps the credentials', async () => {
    const h = harness();
    await h.sync(def);
    await h.clock.advance(30 * minute);
    h.vault.renewal = new ProviderError(
      'VaultUnavailable',
      'Vault answered 500 to a lease renewal',
      500,
      'internal error',
    );
    const failed = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(!failed.ok);
    assert.equal(failed.failure.reason, 'RenewFailed');
    assert.equal(failed.failure.retry, 'backoff');
    assert.match(
      failed.failure.message,
      /^renewing the lease of the credentials failed: Vault answered 500 to a lease renewal; the credentials in the Secret stay valid until .+Z, and the renewal is tried again with backoff$/,
    );
    assert.equal(failed.failure.detail, 'internal error');

    h.vault.renewal = new ProviderError(
      'LeaseExpired',
      'Vault no longer knows the lease of these credentials (expired or revoked)',
    );
    const replaced = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(replaced.ok);
    assert.match(replaced.issued ?? '', /: Vault no longer knows the lease of the credentials$/);
    assert.equal(h.vault.calls.filter((c) => c.startsWith('issue')).length, 2);
  });

  test('a lease that cannot be renewed is replaced at renewPercent', async () => {
    const h = harness();
    h.vault.answer = () => ({
      data: { username: 'u', password: 'p' },
      lease: { id: 'database/creds/app/once', durationSeconds: 600, renewable: false },
    });
    const { prepared } = await h.sync(def);
    assert.equal(prepared.nextAt, h.clock.now() + 5 * minute);
    await h.clock.advance(5 * minute);
    const next = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(next.ok);
    assert.match(next.issued ?? '', /the lease is not renewable$/);
    assert.ok(!h.vault.calls.some((c) => c.startsWith('renew')));
  });

  test('a restarted operator renews the lease it finds in the Secret, and replaces it before the token that issued it ends', async () => {
    const h = harness();
    const { live } = await h.sync(def);
    await h.clock.advance(10 * minute);
    const restarted = harness(h.clock);
    restarted.secrets.set(key, h.secrets.get(key) as SecretApplyConfig);
    restarted.vault.parentEndsAt = h.clock.now() + 15 * minute;
    const taken = await restarted.issuance.prepare(key, def, restarted.sources, live);
    assert.ok(taken.ok);
    assert.equal(taken.issued, undefined);
    assert.equal(text(taken.data['username']), 'v-app-1');
    assert.deepEqual(restarted.vault.calls, ['adopt database/creds/app/lease1']);
    // Half of what is left before the old token's estimated end (less than the grace period),
    // brought forward by up to a quarter of it by a fraction of the lease id.
    assert.ok(taken.nextAt <= h.clock.now() + 7.5 * minute && taken.nextAt >= h.clock.now() + 3.75 * minute);
    await h.clock.advance(taken.nextAt - h.clock.now());
    const next = await restarted.issuance.prepare(key, def, restarted.sources, undefined);
    assert.ok(next.ok);
    assert.match(next.issued ?? '', /cannot be renewed for its full length/);
  });

  test('a lease recorded for another path is never renewed or revoked for this definition', async () => {
    const h = harness();
    const { live } = await h.sync(def);
    // Someone who may edit the Secret points its record at another role's lease.
    const record = parseIssuedRecord(live.annotations[issuedAnnotation]);
    assert.ok(record?.lease);
    const forged = formatIssuedRecord({
      ...record,
      lease: { ...record.lease, id: 'database/creds/admin/x' },
    });
    const restarted = harness(h.clock);
    restarted.secrets.set(key, h.secrets.get(key) as SecretApplyConfig);
    const taken = await restarted.issuance.prepare(key, def, restarted.sources, liveSecret(forged));
    assert.ok(taken.ok);
    assert.match(taken.issued ?? '', /the lease recorded in the Secret is not one of spec.dynamic.path$/);
    assert.deepEqual(restarted.vault.calls, ['issue GET database/creds/app']);
  });

  test('a renewal that keeps failing near the end of the lease gets new credentials while the old still work', async () => {
    const h = harness();
    await h.sync(def);
    h.vault.renewal = new ProviderError('Forbidden', 'the Vault policy does not allow renewing leases', 403);
    await h.clock.advance(30 * minute);
    const failed = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(!failed.ok);
    assert.equal(failed.failure.reason, 'RenewFailed');
    // The last stretch: a quarter of the grant or the grace period (10m), whichever is shorter.
    await h.clock.advance(20 * minute);
    const replaced = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(replaced.ok);
    assert.match(
      replaced.issued ?? '',
      /renewing the lease keeps failing \(the Vault policy does not allow renewing leases\) and it ends soon$/,
    );
  });

  test('credentials whose write kept failing until they ended are not written: new ones are issued', async () => {
    const h = harness();
    const first = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(first.ok);
    await h.clock.advance(hour);
    const next = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(next.ok);
    assert.equal(text(next.data['username']), 'v-app-2');
  });

  test("a record copied from another definition's Secret is not taken up", async () => {
    const h = harness();
    const { live } = await h.sync(def);
    const restarted = harness(h.clock);
    restarted.secrets.set(key, h.secrets.get(key) as SecretApplyConfig);
    const other = { ...def, metadata: { ...def.metadata, uid: 'uid-2' } };
    const taken = await restarted.issuance.prepare(key, other, restarted.sources, live);
    assert.ok(taken.ok);
    assert.match(taken.issued ?? '', /the Secret records what was issued for another SecretDefinition$/);
    assert.ok(!restarted.vault.calls.some((c) => c.startsWith('adopt') || c.startsWith('renew')));
  });

  test('a lease too short to write and use is refused and revoked', async () => {
    const h = harness();
    h.vault.answer = () => ({
      data: { username: 'u', password: 'p' },
      lease: { id: 'database/creds/app/short', durationSeconds: 5, renewable: true },
    });
    const failed = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(!failed.ok);
    assert.equal(failed.failure.reason, 'IssueFailed');
    assert.match(failed.failure.message, /a lease of 5s, too short/);
    await h.clock.advance(0);
    assert.ok(h.vault.calls.includes('revoke database/creds/app/short'));
  });

  test('deleting the definition revokes its lease, unless revokeOnDelete is false', async () => {
    const h = harness();
    await h.sync(def);
    await h.issuance.forget(key);
    assert.deepEqual(h.vault.calls, ['issue GET database/creds/app', 'revoke database/creds/app/lease1']);

    const kept = harness();
    await kept.sync(definition({ dynamic: { ...dynamicSpec, revokeOnDelete: false } }));
    await kept.issuance.forget(key);
    assert.deepEqual(kept.vault.calls, ['issue GET database/creds/app']);
  });

  test('credentials issued for a spec that changed before a write (which may have reached the Secret) are revoked after the grace period', async () => {
    const h = harness();
    const first = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(first.ok);
    const other = await h.issuance.prepare(
      key,
      definition({ dynamic: { ...dynamicSpec, path: 'database/creds/ro' } }),
      h.sources,
      undefined,
    );
    assert.ok(other.ok);
    await h.clock.advance(grace - second);
    assert.deepEqual(h.vault.calls, ['issue GET database/creds/app', 'issue GET database/creds/ro']);
    await h.clock.advance(second);
    assert.deepEqual(h.vault.calls, [
      'issue GET database/creds/app',
      'issue GET database/creds/ro',
      'revoke database/creds/app/lease1',
    ]);
  });

  test('an answer key that cannot be a Secret key is refused, and its lease revoked at once', async () => {
    const h = harness();
    h.vault.answer = () => ({
      data: { 'user name': 'u' },
      lease: { id: 'database/creds/app/bad', durationSeconds: 600, renewable: true },
    });
    const failed = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(!failed.ok);
    assert.equal(failed.failure.reason, 'InvalidValue');
    await h.clock.advance(0);
    assert.ok(h.vault.calls.includes('revoke database/creds/app/bad'));
  });

  test('an answer without a lease is no dynamic credentials', async () => {
    const h = harness();
    h.vault.answer = () => ({ data: { password: 'S3cr3tValue' } });
    const failed = await h.issuance.prepare(key, def, h.sources, undefined);
    assert.ok(!failed.ok);
    assert.equal(failed.failure.reason, 'IssueFailed');
    assert.doesNotMatch(failed.failure.message, /S3cr3tValue/);
  });
});

describe('the request that issues', () => {
  test('PKI: a POST of the names and the TTL; dynamic: a GET, or a POST of params', () => {
    assert.deepEqual(
      issueRequest(
        definition({ pki: { ...pkiSpec, altNames: ['a', 'b'], ipSans: ['10.0.0.1'], ttlMs: 72 * hour } })
          .spec,
      ),
      {
        engine: 'pki',
        path: 'pki/issue/web',
        method: 'POST',
        body: { common_name: 'web.team-a.svc', alt_names: 'a,b', ip_sans: '10.0.0.1', ttl: '259200s' },
      },
    );
    assert.deepEqual(issueRequest(definition({ dynamic: dynamicSpec }).spec), {
      engine: 'dynamic',
      path: 'database/creds/app',
      method: 'GET',
    });
    assert.deepEqual(
      issueRequest(definition({ dynamic: { ...dynamicSpec, method: 'POST', params: { ttl: '1h' } } }).spec),
      { engine: 'dynamic', path: 'database/creds/app', method: 'POST', body: { ttl: '1h' } },
    );
  });
});
