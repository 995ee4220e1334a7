// The operator-side access policy on the real stack: a namespace reads only what a rule gives it,
// a refused path costs no Vault request, and the policy file is re-read without a restart.

import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { auditEntriesSince, auditMark, dedicatedAppRole } from '../support/audit.ts';
import {
  applyPasswordDefinition,
  putKv2,
  secretData,
  startOperator,
  waitForReady,
  waitForSecretValue,
  waitReady,
} from '../support/operator.ts';
import { freshNamespace, testStack, waitFor } from '../support/stack.ts';

/** Replaces the file the way a ConfigMap volume does: a new file renamed over the old one. */
async function replace(path: string, text: string): Promise<void> {
  await writeFile(`${path}.new`, text);
  await rename(`${path}.new`, path);
}

describe('the access policy', () => {
  test('a path no rule allows is PathNotAllowed with an Event and no Vault request; a changed file applies without a restart', async (t) => {
    const ns = await freshNamespace(t, 'policy');
    const other = `${ns}-other`;
    await putKv2(`secret/${ns}/db`, { password: 'own' });
    await putKv2(`secret/${other}/db`, { password: 'theirs' });
    const dir = await mkdtemp(join(tmpdir(), 'access-policy-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'policy.yaml');
    const ownOnly = `- namespaces: ["${ns}"]\n  paths: ["secret/data/{namespace}/*"]\n`;
    await writeFile(file, ownOnly);

    const role = `policy-${ns}`;
    const credentials = await dedicatedAppRole(role);
    const mark = await auditMark();
    const operator = await startOperator(t, {
      args: [`--access-policy=${file}`, `--watch-namespaces=${ns}`],
      env: { VAULT_ROLE_ID: credentials.roleId, VAULT_SECRET_ID: credentials.secretId },
    });
    await waitReady(operator);
    await applyPasswordDefinition(ns, 'own', `secret/${ns}/db`);
    await applyPasswordDefinition(ns, 'other', `secret/${other}/db`);
    await waitForSecretValue(ns, 'own', 'p', 'own');
    const refused = await waitForReady(ns, 'other', 'False', 'PathNotAllowed');
    assert.equal(
      refused.message,
      `the access policy has no rule that lets namespace ${ns} read Vault path secret/${other}/db; use a path the policy gives this namespace, or ask the operator's administrators for a rule`,
    );
    const { core } = await testStack();
    const events = await waitFor('the PathNotAllowed Event', async () => {
      const list = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: 'involvedObject.name=other',
      });
      return list.items.length > 0 ? list.items : undefined;
    });
    assert.deepEqual(
      events.map((e) => [e.type, e.reason, e.message]),
      [['Warning', 'SyncFailed', refused.message]],
    );
    assert.equal(await secretData(ns, 'other'), undefined);
    const requested = (await auditEntriesSince(mark)).filter((e) => e.role === role).map((e) => e.path);
    assert.ok(requested.includes(`secret/data/${ns}/db`), requested.join(', '));
    assert.deepEqual(
      requested.filter((p) => p.includes(other)),
      [],
      'a refused path made no Vault request, mount lookup included',
    );
    assert.match(operator.logs(), /"accessPolicy":\{"file":"[^"]+policy\.yaml","rules":1\}/);

    // The platform team grants the other path: the definition follows without a restart.
    await replace(file, `${ownOnly}- namespaces: ["${ns}"]\n  paths: ["secret/data/${other}/db"]\n`);
    await waitForSecretValue(ns, 'other', 'p', 'theirs');
    assert.equal((await waitForReady(ns, 'other', 'True')).reason, 'Synced');

    // A broken file keeps the last good policy, and says so.
    await replace(file, '- namespaces: [oops\n');
    await waitFor(
      'the log line about the invalid policy',
      async () =>
        operator.logs().includes('the access policy is invalid; the last good policy stays in force') ||
        undefined,
    );
    assert.equal((await waitForReady(ns, 'other', 'True')).reason, 'Synced');

    // Withdrawn again: refused, and the Secret written while it was allowed is kept (no data lost).
    await replace(file, ownOnly);
    await waitForReady(ns, 'other', 'False', 'PathNotAllowed');
    assert.deepEqual(await secretData(ns, 'other'), { p: 'theirs' });
    assert.equal(await operator.stop(), 0);
  });

  test('a missing or invalid policy file stops the start with a clear message', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'access-policy-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const missing = await startOperator(t, { args: [`--access-policy=${join(dir, 'absent.yaml')}`] });
    await waitFor('the operator to exit', async () => missing.process.exitCode ?? undefined);
    assert.notEqual(await missing.exited, 0);
    assert.match(missing.logs(), /cannot read the access policy .*absent\.yaml/);

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, '- { namespaces: [a], paths: ["secret/*/x"] }');
    const invalid = await startOperator(t, { args: [`--access-policy=${bad}`] });
    await waitFor('the operator to exit', async () => invalid.process.exitCode ?? undefined);
    assert.notEqual(await invalid.exited, 0);
    assert.match(
      invalid.logs(),
      /the access policy .*bad\.yaml is invalid: rule 1\.paths: "secret\/\*\/x" has a "\*" before its end/,
    );
  });

  test('without a policy file the operator warns at start that tenancy is off', async (t) => {
    const operator = await startOperator(t);
    await waitReady(operator);
    assert.match(operator.logs(), /no --access-policy: tenancy is off/);
    assert.match(operator.logs(), /"accessPolicy":"none \(tenancy off\)"/);
  });
});
