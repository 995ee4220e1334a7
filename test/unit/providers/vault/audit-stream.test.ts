import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { changedSecrets, parseAuditLine } from '../../../../src/providers/vault/audit-entry.ts';
import { AuditStream, maxAuditLineBytes } from '../../../../src/providers/vault/audit-stream.ts';
import { waitFor } from '../../../support/wait.ts';

/** An audit entry as Vault's socket device writes it (values HMACed; only the shape matters). */
const entry = (type: 'request' | 'response', path: string, operation: string, error?: string): string =>
  JSON.stringify({
    time: '2026-12-04T00:00:00Z',
    type,
    auth: { client_token: 'hmac-sha256:abc', accessor: 'hmac-sha256:def' },
    request: { id: 'r', operation, path, data: { data: { password: 'hmac-sha256:0123' } } },
    ...(error ? { error } : {}),
  });

describe('an audit entry', () => {
  test('a change is the response of a create, update, patch or delete that succeeded', () => {
    for (const operation of ['create', 'update', 'patch', 'delete'])
      assert.deepEqual(parseAuditLine(entry('response', 'secret/data/app', operation)), {
        kind: 'change',
        path: 'secret/data/app',
        namespace: '',
      });
    assert.deepEqual(
      parseAuditLine(entry('request', 'secret/data/app', 'update')),
      { kind: 'other' },
      'not done yet',
    );
    assert.deepEqual(parseAuditLine(entry('response', 'secret/data/app', 'read')), { kind: 'other' });
    assert.deepEqual(parseAuditLine(entry('response', 'secret/data/app', 'update', 'permission denied')), {
      kind: 'other',
    });
  });

  test('what does not parse as an entry is unparsable', () => {
    for (const line of [
      '',
      'garbage',
      '[]',
      'null',
      '{"type":"response"}',
      '{"type":1,"request":{}}',
      '{"type":"response","request":{"path":7,"operation":"update"}}',
    ])
      assert.deepEqual(parseAuditLine(line), { kind: 'unparsable' }, line);
  });

  test('the KV secrets a changed path may name: KV v1 as written, KV v2 without its endpoint segment', () => {
    assert.deepEqual(changedSecrets('kv/team-a/app'), ['kv/team-a/app']);
    assert.deepEqual(changedSecrets('secret/data/team-a/app'), [
      'secret/data/team-a/app',
      'secret/team-a/app',
    ]);
    for (const endpoint of ['metadata', 'delete', 'undelete', 'destroy'])
      assert.ok(changedSecrets(`secret/${endpoint}/app`).includes('secret/app'), endpoint);
    // A mount of two segments: the endpoint comes after it.
    assert.ok(changedSecrets('teams/kv/data/app').includes('teams/kv/app'));
  });
});

function harness() {
  const changed: string[] = [];
  const counts = { received: 0, matched: 0, rereads: 0, dropped: [] as string[], connected: [] as boolean[] };
  const stream = new AuditStream({
    host: '127.0.0.1',
    port: 0,
    namespace: '',
    changed: (secret) => {
      changed.push(secret);
      return secret === 'secret/app' ? { sources: 2, reads: 2 } : { sources: 0, reads: 0 };
    },
    observer: {
      received: () => void (counts.received += 1),
      matched: (reads) => {
        counts.matched += 1;
        counts.rereads += reads;
      },
      dropped: (why) => void counts.dropped.push(why),
      connected: (up) => void counts.connected.push(up),
    },
    logger: { info: () => {}, warn: () => {} },
  });
  return { stream, changed, counts };
}

describe('the audit stream listener', () => {
  test('a change of a polled path is passed on; others, garbage and a too long line are counted and dropped, in chunks of any size', async (t) => {
    const h = harness();
    await h.stream.listen();
    t.after(() => h.stream.stop());
    const port = h.stream.port;
    assert.ok(port > 0);
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const text = [
      entry('request', 'secret/data/app', 'update'),
      entry('response', 'secret/data/app', 'update'),
      'not json at all',
      entry('response', 'secret/data/unused', 'update'),
      'x'.repeat(maxAuditLineBytes + 10),
      entry('response', 'secret/metadata/app', 'delete'),
    ].join('\n');
    // Split at awkward places, as TCP may.
    for (let i = 0; i < text.length; i += 70_001) socket.write(text.slice(i, i + 70_001));
    socket.write('\n');
    await waitFor(
      'six lines read',
      async () => (h.counts.received >= 5 && h.counts.matched >= 2 ? true : undefined),
      5_000,
    );
    assert.deepEqual(h.counts.dropped.sort(), ['too_long', 'unparsable']);
    assert.equal(h.counts.received, 5, 'the too long line is not taken as an entry');
    assert.equal(h.counts.matched, 2);
    assert.equal(h.counts.rereads, 4);
    assert.ok(h.changed.includes('secret/unused'), 'asked, and matched nothing');
    assert.deepEqual(h.counts.connected, [true]);
    socket.destroy();
    await waitFor(
      'the stream gone',
      async () => (h.counts.connected.at(-1) === false ? true : undefined),
      5_000,
    );
  });

  test('a connection counts as the stream only once it delivers an entry; a change in another Vault namespace is dropped', async (t) => {
    const h = harness();
    await h.stream.listen();
    t.after(() => h.stream.stop());
    const stranger = connect(h.stream.port, '127.0.0.1');
    await new Promise((resolve) => stranger.once('connect', resolve));
    stranger.write('garbage\n');
    await waitFor(
      'garbage counted',
      async () => (h.counts.dropped.includes('unparsable') ? true : undefined),
      5_000,
    );
    assert.deepEqual(h.counts.connected, [], 'not the stream');
    const vault = connect(h.stream.port, '127.0.0.1');
    await new Promise((resolve) => vault.once('connect', resolve));
    const inTeam = JSON.parse(entry('response', 'secret/data/app', 'update')) as {
      request: Record<string, unknown>;
    };
    inTeam.request['namespace'] = { id: 'x', path: 'team-b/' };
    vault.write(`${entry('request', 'sys/health', 'read')}\n${JSON.stringify(inTeam)}\n`);
    await waitFor(
      'the stream up',
      async () => (h.counts.connected.at(-1) === true ? true : undefined),
      5_000,
    );
    await waitFor(
      'the other namespace dropped',
      async () => (h.counts.dropped.includes('other_namespace') ? true : undefined),
      5_000,
    );
    assert.equal(h.counts.matched, 0);
    stranger.destroy();
    vault.destroy();
  });
});
