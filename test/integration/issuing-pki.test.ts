// PKI certificates on the real stack: OpenBao's PKI engine (a root CA and a role made here) issues,
// the operator writes tls.crt, tls.key and ca.crt, renews before expiry by its own clock, restarts
// the consumers once per new certificate, and a restarted operator takes up the certificate in the
// Secret instead of issuing again (counted in OpenBao's audit log).

import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { auditEntriesSince, auditMark } from '../support/audit.ts';
import { issuingRole, mountPki, requestKind } from '../support/engines.ts';
import { metricSum } from '../support/metrics.ts';
import {
  applyDefinition,
  putKv2,
  readDefinition,
  secretData,
  startOperator,
  waitForReady,
  waitReady,
  type DefinitionSpec,
  type RunningOperator,
} from '../support/operator.ts';
import { freshNamespace, kubectl, waitFor } from '../support/stack.ts';
import { revisions, waitRevisions, workload } from '../support/workloads.ts';

interface Held {
  readonly leaf: X509Certificate;
  readonly ca: X509Certificate;
  readonly chain: readonly X509Certificate[];
  readonly keyPem: string;
}

async function heldCertificate(ns: string): Promise<Held | undefined> {
  const data = await secretData(ns, 'web-tls');
  if (!data?.['tls.crt'] || !data['ca.crt'] || !data['tls.key']) return undefined;
  const chain = (
    data['tls.crt'].match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  ).map((pem) => new X509Certificate(pem));
  const [leaf] = chain;
  if (!leaf) return undefined;
  return { leaf, ca: new X509Certificate(data['ca.crt']), chain, keyPem: data['tls.key'] };
}

/** Waits until the Secret holds a certificate other than those seen (by serial); answers it. */
async function nextCertificate(ns: string, seen: Set<string>, timeoutMs = 45_000): Promise<Held> {
  const held = await waitFor(
    `a new certificate in Secret ${ns}/web-tls`,
    async () => {
      const now = await heldCertificate(ns);
      return now && !seen.has(now.leaf.serialNumber) ? now : undefined;
    },
    timeoutMs,
  );
  seen.add(held.leaf.serialNumber);
  return held;
}

/** Issue requests at `path` in the audit log since `mark` (the requests, not their responses). */
async function issuesSince(mark: number, role: string, path: string): Promise<number> {
  const entries = await auditEntriesSince(mark);
  return entries.filter((e) => e.type === 'request' && e.role === role && e.path === path).length;
}

describe('PKI certificates', () => {
  test('issued, verified, renewed before expiry with a restart per certificate; a spec change issues anew; an operator restart issues none', async (t) => {
    const ns = await freshNamespace(t, 'pki');
    const mount = `pki-${ns}`;
    const rootPem = await mountPki(mount, `${ns}.svc`);
    const role = `pki-${ns}`;
    const issuePath = `${mount}/issue/web`;
    const credentials = await issuingRole(
      role,
      [
        `path "${issuePath}" { capabilities = ["create", "update"] }`,
        `path "secret/data/${ns}/*" { capabilities = ["read"] }`,
      ].join('\n'),
    );
    await putKv2(`secret/${ns}/extra`, { note: 'beside the certificate' });
    await kubectl(['apply', '-n', ns, '-f', '-'], workload('Deployment', 'web', 'web-tls', false));
    await waitRevisions(ns, 'Deployment', 'web', 1);

    const mark = await auditMark();
    const args = [`--watch-namespaces=${ns}`, '--rollout-restart', '--rollout-restart-interval=1s'];
    const env = { VAULT_ROLE_ID: credentials.roleId, VAULT_SECRET_ID: credentials.secretId };
    let operator: RunningOperator = await startOperator(t, { args, env });
    await waitReady(operator);

    const spec = (pki: NonNullable<DefinitionSpec['pki']>): DefinitionSpec => ({
      name: 'web-tls',
      type: 'kubernetes.io/tls',
      pki,
      keysMap: { note: { path: `secret/${ns}/extra`, key: 'note' } },
      rolloutRestartTargets: [{ kind: 'Deployment', name: 'web' }],
    });
    const commonName = `web.${ns}.svc`;
    // Vault backdates notBefore by 30s: a 40s TTL is a lifetime of 70s, due 25s before notAfter.
    await applyDefinition(
      ns,
      'web',
      spec({
        path: issuePath,
        commonName,
        altNames: [`www.${ns}.svc`],
        ipSans: ['10.1.2.3'],
        ttl: '40s',
        renewBefore: '25s',
      }),
    );

    const seen = new Set<string>();
    const first = await nextCertificate(ns, seen);
    assert.equal(first.leaf.subject, `CN=${commonName}`);
    assert.deepEqual(
      (first.leaf.subjectAltName ?? '').split(', ').sort(),
      [`DNS:${commonName}`, `DNS:www.${ns}.svc`, 'IP Address:10.1.2.3'].sort(),
    );
    assert.ok(first.leaf.verify(first.ca.publicKey), 'tls.crt verifies against ca.crt');
    assert.equal(first.ca.fingerprint256, new X509Certificate(rootPem).fingerprint256, 'ca.crt is the root');
    assert.ok(first.leaf.checkPrivateKey(createPrivateKey(first.keyPem)), 'tls.key is the key of tls.crt');
    assert.equal((await secretData(ns, 'web-tls'))?.['note'], 'beside the certificate');
    const ready = await waitForReady(ns, 'web', 'True');
    assert.equal(ready.reason, 'Synced');
    const status = (await readDefinition(ns, 'web')).status?.pki;
    assert.equal(
      BigInt(`0x${status?.serialNumber.replaceAll(':', '') ?? ''}`),
      BigInt(`0x${first.leaf.serialNumber}`),
    );
    assert.equal(Date.parse(status?.notAfter ?? ''), first.leaf.validToDate.getTime());
    assert.equal(await revisions(ns, 'Deployment', 'web'), 1, 'a new Secret restarts nothing');

    // Renewed by its own clock, before it expires, with no gap; a restart for each.
    let previous = first;
    for (const renewal of [1, 2]) {
      const next = await nextCertificate(ns, seen);
      const observedAt = Date.now();
      assert.ok(
        observedAt < previous.leaf.validToDate.getTime(),
        `renewal ${renewal} came after the old certificate expired`,
      );
      assert.ok(next.leaf.verify(next.ca.publicKey));
      await waitRevisions(ns, 'Deployment', 'web', 1 + renewal);
      previous = next;
    }

    // A new commonName: a new certificate at once, not at the renewal time.
    await applyDefinition(ns, 'web', spec({ path: issuePath, commonName: `api.${ns}.svc`, ttl: '1h' }));
    const renamed = await nextCertificate(ns, seen, 15_000);
    assert.equal(renamed.leaf.subject, `CN=api.${ns}.svc`);
    await waitRevisions(ns, 'Deployment', 'web', 4);
    await waitForReady(ns, 'web', 'True');
    const issuedBefore = await issuesSince(mark, role, issuePath);
    assert.equal(issuedBefore, seen.size, 'one issue request per certificate');

    // A restarted operator finds the certificate in the Secret: no issue, no restart.
    assert.equal(await operator.stop(), 0);
    const restartMark = await auditMark();
    operator = await startOperator(t, { args, env });
    await waitReady(operator);
    const expirySeries = `secrets_manager_certificate_expiry_timestamp_seconds{namespace="${ns}",name="web"}`;
    await waitFor('the restarted operator to take up the certificate', async () =>
      metricSum(await operator.metrics(), expirySeries) === renamed.leaf.validToDate.getTime() / 1000
        ? true
        : undefined,
    ).catch(async (error: unknown) => {
      const series = (await operator.metrics())
        .split('\n')
        .filter((l) => l.includes('certificate_expiry') || l.includes('issued_total'));
      throw new Error(
        `${(error as Error).message}; metrics: ${series.join(' | ')}; logs: ${operator.logs().slice(-2000)}`,
      );
    });
    assert.equal(await issuesSince(restartMark, role, issuePath), 0, 'the restart issued a certificate');
    assert.equal((await heldCertificate(ns))?.leaf.serialNumber, renamed.leaf.serialNumber);
    assert.equal(await revisions(ns, 'Deployment', 'web'), 4);
    assert.equal(metricSum(await operator.metrics(), 'secrets_manager_issued_total'), 0);
    assert.equal(await operator.stop(), 0);

    // What this role sent: logins, its token's upkeep, the KV read, and the issue POST; nothing else.
    const kinds = new Set(
      (await auditEntriesSince(mark)).filter((e) => e.role === role).map((e) => requestKind(e.path)),
    );
    const allowed = new Set([
      'auth/approle/login',
      'auth/token/renew-self',
      'auth/token/revoke-self',
      `sys/internal/ui/mounts/secret/${ns}/extra`,
      `secret/data/${ns}/extra`,
      issuePath,
    ]);
    assert.deepEqual(
      [...kinds].filter((k) => !allowed.has(k)),
      [],
    );
    assert.ok(kinds.has(issuePath));
  });
});
