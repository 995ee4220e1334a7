// Only KV reads leave the operator: proved with OpenBao's own audit log. Hostile definitions are
// stored as they could have been before this release's CRD (the schema is loosened for the test,
// then restored), so the operator's runtime checks meet them, not only the apiserver's.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { apiVersion, group, kind, plural, version } from '../../src/api/types.ts';
import { auditEntriesSince, auditMark, dedicatedAppRole, type AuditEntry } from '../support/audit.ts';
import {
  applyDefinition,
  ensureCrd,
  putKv1,
  putKv2,
  readDefinition,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, kubectl, statusOf, testStack, waitFor } from '../support/stack.ts';

const crdFile = join(import.meta.dirname, '..', '..', 'crd.yaml');

type Schema = Record<string, unknown>;

/** The CRD with the path rules of this release taken out: what an older CRD let through. */
async function looseCrd(): Promise<string> {
  const crd = parse(await readFile(crdFile, 'utf8')) as Schema;
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const record = node as Schema;
    const path = (record['properties'] as Schema | undefined)?.['path'] as Schema | undefined;
    if (path) delete path['pattern'];
    Object.values(record).forEach(visit);
  };
  visit(crd);
  return JSON.stringify(crd);
}

async function createRaw(namespace: string, name: string, spec: unknown, dryRun = false): Promise<void> {
  const { kubeConfig } = await testStack();
  await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group,
    version,
    plural,
    namespace,
    body: { apiVersion, kind, metadata: { name, namespace }, spec },
    ...(dryRun ? { dryRun: 'All' } : {}),
  });
}

/** Loosens the CRD until the test ends; the strict CRD is back (and enforced) afterwards. */
async function withLooseCrd(t: TestContext): Promise<void> {
  // Probes go to default: the test's own namespace may be gone when the restore runs.
  const namespace = 'default';
  await ensureCrd();
  const probe = { name: 'p', keysMap: { v: { path: 'kv/%2e%2e/x', key: 'v' } } };
  t.after(async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', crdFile]);
    await waitFor('the strict CRD to refuse a traversal again', async () => {
      try {
        await createRaw(namespace, 'probe', probe, true);
        return undefined;
      } catch (error) {
        return statusOf(error) === 422 || undefined;
      }
    });
  });
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], await looseCrd());
  await waitFor('the loosened CRD to admit a traversal', async () => {
    try {
      await createRaw(namespace, 'probe', probe, true);
      return true;
    } catch (error) {
      if (statusOf(error) === 422) return undefined;
      throw error;
    }
  });
}

/** Paths of every request made with the role's tokens, and of its logins. */
function pathsOf(entries: readonly AuditEntry[], role: string): Set<string> {
  return new Set(entries.filter((e) => e.role === role).map((e) => e.path));
}

const token = 'auth/token/lookup-self';

describe('only KV reads leave the operator, whatever definitions say', () => {
  test('hostile paths are refused at runtime with InvalidSpec and no request; the audit log holds only allowed paths', async (t) => {
    const ns = await freshNamespace(t, 'audit');
    await withLooseCrd(t);
    await putKv2(`secret/${ns}/app`, { v: 'kv2-value' });
    await putKv1(`kv/${ns}/app`, { v: 'kv1-value' });
    await putKv2(`secret/${ns}/with space`, { v: 'spaced' });

    const hostile: Record<string, string> = {
      'pct-lower': `kv/%2e%2e/${token}`,
      'pct-upper': `kv/%2E%2E/${token}`,
      'pct-half-1': `kv/.%2e/${token}`,
      'pct-half-2': `kv/%2e./${token}`,
      backslash: `kv/..\\${token}`,
      dotdot: `kv/../${token}`,
      'v2-dotdot': `secret/../${token}`,
      'pct-slash': `secret/x%2f..%2f..%2f${token.replaceAll('/', '%2f')}`,
      query: `kv/${ns}/app?list=true`,
      newline: `kv/${ns}/app\nx`,
      'zero-width': `kv/${ns}/a\u200bpp`,
    };
    for (const [name, path] of Object.entries(hostile)) {
      await createRaw(ns, name, { name, keysMap: { v: { path, key: 'id' } } });
    }
    // Well-formed names of things that are not KV secrets: refused because Vault says so.
    const notKv: Record<string, string> = {
      'token-endpoint': token,
      'sys-endpoint': 'sys/mounts/secret',
      cubbyhole: 'cubbyhole/x',
    };
    for (const [name, path] of Object.entries(notKv)) {
      await createRaw(ns, name, { name, keysMap: { v: { path, key: 'id' } } });
    }
    await createRaw(ns, 'good', {
      name: 'good',
      keysMap: {
        a: { path: `secret/${ns}/app`, key: 'v' },
        b: { path: `kv/${ns}/app`, key: 'v' },
        c: { path: `secret/data/${ns}/with space`, key: 'v' },
      },
    });

    const role = `audit-${ns}`;
    const credentials = await dedicatedAppRole(role);
    const mark = await auditMark();
    const operator = await startOperator(t, {
      args: [`--watch-namespaces=${ns}`],
      env: { VAULT_ROLE_ID: credentials.roleId, VAULT_SECRET_ID: credentials.secretId },
    });
    await waitReady(operator);
    await waitForSecretValue(ns, 'good', 'c', 'spaced');
    assert.equal((await waitForReady(ns, 'good', 'True')).reason, 'Synced');
    for (const name of Object.keys(hostile)) {
      const ready = await waitForReady(ns, name, 'False', 'InvalidSpec');
      assert.match(ready.message, /^invalid spec: spec\.keysMap\.v\.path: /, name);
    }
    for (const name of Object.keys(notKv)) {
      const ready = await waitForReady(ns, name, 'False');
      assert.ok(
        ['InvalidSpec', 'Forbidden', 'PathNotFound'].includes(ready.reason),
        `${name}: ${ready.reason}`,
      );
    }
    assert.equal(await operator.stop(), 0);

    const entries = await auditEntriesSince(mark);
    const seen = pathsOf(entries, role);
    const allowed = new Set([
      'auth/approle/login',
      'auth/token/renew-self',
      'auth/token/revoke-self',
      `sys/internal/ui/mounts/secret/${ns}/app`,
      `sys/internal/ui/mounts/kv/${ns}/app`,
      `sys/internal/ui/mounts/secret/data/${ns}/with space`,
      `sys/internal/ui/mounts/${token}`,
      'sys/internal/ui/mounts/sys/mounts/secret',
      'sys/internal/ui/mounts/cubbyhole/x',
      `secret/data/${ns}/app`,
      `kv/${ns}/app`,
      `secret/data/${ns}/with space`,
    ]);
    const unexpected = [...seen].filter((path) => !allowed.has(path));
    assert.deepEqual(
      unexpected,
      [],
      `requests outside the allowed list: ${JSON.stringify(entries.filter((e) => unexpected.includes(e.path)))}`,
    );
    // The reads that matter did happen, so the filter above saw this operator's traffic.
    assert.ok(seen.has(`secret/data/${ns}/app`) && seen.has(`kv/${ns}/app`), [...seen].join('\n'));
    assert.ok(seen.has('auth/approle/login') && seen.has('auth/token/revoke-self'));
    // No hostile definition left anything in a Secret.
    for (const name of [...Object.keys(hostile), ...Object.keys(notKv)]) {
      assert.equal((await readDefinition(ns, name)).status?.secretName, undefined, name);
    }
  });

  test('with a forced KV v2 engine, a KV v1 mount is read at mount/data/... as told, so its secret is not found', async (t) => {
    const ns = await freshNamespace(t, 'engine-kv2');
    await putKv1(`kv/${ns}/app`, { v: 'v1-value' });
    await putKv2(`secret/${ns}/app`, { v: 'v2-value' });
    const operator = await startOperator(t, { args: ['--vault.engine=kv2', `--watch-namespaces=${ns}`] });
    await waitReady(operator);
    await applyDefinition(ns, 'v2', { name: 'v2', keysMap: { v: { path: `secret/${ns}/app`, key: 'v' } } });
    await applyDefinition(ns, 'v1', { name: 'v1', keysMap: { v: { path: `kv/${ns}/app`, key: 'v' } } });
    await waitForSecretValue(ns, 'v2', 'v', 'v2-value');
    const v1 = await waitForReady(ns, 'v1', 'False', 'PathNotFound');
    assert.match(v1.message, new RegExp(`kv/${ns}/app`));
  });

  test('with a forced KV v1 engine, a first segment is not taken as a mount without asking Vault', async (t) => {
    const ns = await freshNamespace(t, 'audit-kv1');
    await ensureCrd();
    await putKv1(`kv/${ns}/app`, { v: 'forced' });
    await createRaw(ns, 'good', { name: 'good', keysMap: { v: { path: `kv/${ns}/app`, key: 'v' } } });
    await createRaw(ns, 'steal', { name: 'steal', keysMap: { id: { path: token, key: 'id' } } });
    await createRaw(ns, 'identity', { name: 'identity', dataFrom: [{ path: 'identity/entity/name/x' }] });

    const role = `audit-kv1-${ns}`;
    const credentials = await dedicatedAppRole(role);
    const mark = await auditMark();
    const operator = await startOperator(t, {
      args: ['--vault.engine=kv1', `--watch-namespaces=${ns}`],
      env: { VAULT_ROLE_ID: credentials.roleId, VAULT_SECRET_ID: credentials.secretId },
    });
    await waitReady(operator);
    await waitForSecretValue(ns, 'good', 'v', 'forced');
    const steal = await waitForReady(ns, 'steal', 'False');
    assert.notEqual(steal.reason, 'Synced');
    await waitForReady(ns, 'identity', 'False');
    assert.equal(await operator.stop(), 0);

    const seen = pathsOf(await auditEntriesSince(mark), role);
    assert.equal(seen.has(token), false, `the token endpoint was called: ${[...seen].join(', ')}`);
    assert.equal(
      [...seen].some((p) => p.startsWith('identity/')),
      false,
      [...seen].join(', '),
    );
    assert.ok(seen.has(`kv/${ns}/app`));
  });
});
