import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AccessPolicy } from '../../../src/policy/access-policy.ts';
import { PolicyFile } from '../../../src/policy/policy-file.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const teamA = '- { namespaces: [team-a], paths: ["secret/data/team-a/*"] }\n';
const teamB = '- { namespaces: [team-b], paths: ["secret/data/team-b/*"] }\n';

function recorder() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (message: string, fields?: Record<string, unknown>) =>
      lines.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    error: (message: string, fields?: Record<string, unknown>) =>
      lines.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
  };
}

/** Replaces the file the way a ConfigMap volume does: a new file renamed over the old one. */
async function replace(path: string, text: string): Promise<void> {
  await writeFile(`${path}.new`, text);
  await rename(`${path}.new`, path);
}

const readsTeamA = (policy: AccessPolicy) =>
  policy.allows('team-a', { path: 'secret/team-a/db', mount: 'secret/', version: 2 });

describe('the access policy file', () => {
  test('a missing or invalid file stops the start with every problem named', async () => {
    await assert.rejects(
      PolicyFile.open({
        path: join(dir, 'absent.yaml'),
        logger: recorder(),
        checkEveryMs: 1000,
        onChange: () => {},
      }),
      { name: 'PolicyFileError', message: /cannot read the access policy .*absent\.yaml/ },
    );
    const path = join(dir, 'bad.yaml');
    await writeFile(path, '- { namespaces: [a] }');
    await assert.rejects(
      PolicyFile.open({ path, logger: recorder(), checkEveryMs: 1000, onChange: () => {} }),
      {
        message: /is invalid: rule 1\.paths: must be a non-empty list of strings/,
      },
    );
  });

  test('a good change takes effect and is announced; a broken one keeps the last good policy and says so', async () => {
    const path = join(dir, 'policy.yaml');
    await writeFile(path, teamA);
    const logger = recorder();
    const changes: AccessPolicy[] = [];
    const file = await PolicyFile.open({
      path,
      logger,
      checkEveryMs: 1000,
      onChange: (p) => changes.push(p),
    });
    assert.equal(readsTeamA(file.policy), true);
    assert.equal(await file.check(), false, 'nothing changed yet');

    await replace(path, '- { namespaces: [team-b], paths: ["secret/*/b"] }\n');
    assert.equal(await file.check(), false);
    assert.equal(readsTeamA(file.policy), true, 'the last good policy stays');
    assert.deepEqual(logger.lines.at(-1), {
      level: 'error',
      message: 'the access policy is invalid; the last good policy stays in force',
      fields: {
        file: path,
        problems: [
          'rule 1.paths: "secret/*/b" has a "*" before its end: as in Vault policies, "*" may only end a glob; use "+" for one segment',
        ],
      },
    });

    await replace(path, teamB);
    assert.equal(await file.check(), true);
    assert.equal(readsTeamA(file.policy), false);
    assert.equal(
      file.policy.allows('team-b', { path: 'secret/team-b/db', mount: 'secret/', version: 2 }),
      true,
    );
    assert.equal(changes.length, 1);
    assert.equal(changes[0], file.policy);

    await rm(path);
    assert.equal(await file.check(), false);
    assert.equal(
      file.policy.allows('team-b', { path: 'secret/team-b/db', mount: 'secret/', version: 2 }),
      true,
      'a deleted file keeps the policy',
    );
    assert.equal(
      logger.lines.at(-1)?.message,
      'cannot read the access policy; the last good policy stays in force',
    );
  });

  test('started, it notices a change by itself', { timeout: 10_000 }, async () => {
    const path = join(dir, 'watched.yaml');
    await writeFile(path, teamA);
    let announced: (policy: AccessPolicy) => void = () => {};
    const changed = new Promise<AccessPolicy>((resolve) => (announced = resolve));
    const file = await PolicyFile.open({
      path,
      logger: recorder(),
      checkEveryMs: 20,
      onChange: (p) => announced(p),
    });
    file.start();
    try {
      await replace(path, teamB);
      const policy = await changed;
      assert.equal(policy.allows('team-b', { path: 'secret/team-b/x', mount: 'secret/', version: 2 }), true);
    } finally {
      file.stop();
    }
  });
});
