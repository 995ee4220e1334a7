// An Explanation as text for a terminal: the verdict first, then a table per key and per path,
// then what applying would change. It prints what the Explanation holds, which is never a value.

import { backendWords } from '../api/backends.ts';
import type { SecretChanges } from './changes.ts';
import type { Explanation, PathRow } from './explanation.ts';
import { identityText } from './identity.ts';
import type { KeyRow } from './key-rows.ts';
import { printable } from './printable.ts';
import { fileName } from './target.ts';

/** Columns padded to their widest cell, two spaces apart; each cell printable. */
export function table(header: readonly string[], given: readonly (readonly string[])[]): string[] {
  const rows = given.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const foundWords: Readonly<Record<KeyRow['found'], string>> = {
  found: 'found',
  keyNotFound: 'key not found',
  pathNotFound: 'path not found',
  notRead: 'not read',
  invalidKey: 'not a Secret key',
  notAnObject: 'no keys (not JSON)',
  invalidValue: 'not base64',
  notApplicable: '-',
};

const liveWords: Readonly<Record<KeyRow['live'], string>> = {
  matches: 'matches',
  differs: 'differs',
  added: 'would be added',
  notCompared: '-',
};

function sourceText(row: KeyRow): [string, string] {
  const { source } = row;
  const version = (v: number | string | undefined): string => (v === undefined ? 'latest' : String(v));
  switch (source.kind) {
    case 'keysMap':
      return [
        `${source.path} key ${source.key}${source.encoding === 'base64' ? ' (base64)' : ''}`,
        version(source.version),
      ];
    case 'dataFrom':
      return [`${source.path} (dataFrom)`, version(source.version)];
    case 'template':
      return ['spec.template', '-'];
    case 'issued':
      return [
        source.engine === 'pki' ? 'issued certificate (spec.pki)' : 'issued credentials (spec.dynamic)',
        '-',
      ];
  }
}

function keyTable(keys: readonly KeyRow[]): string[] {
  return table(
    ['KEY', 'SOURCE', 'VERSION', 'POLICY', 'FOUND', 'LIVE SECRET'],
    keys.map((row) => {
      const [source, version] = sourceText(row);
      return [
        // A key "" (a dataFrom key no Secret may have) would be an empty cell.
        row.secretKey === '' ? '""' : row.secretKey,
        source,
        version,
        row.policy === 'notApplicable' ? '-' : row.policy,
        foundWords[row.found],
        liveWords[row.live],
      ];
    }),
  );
}

function pathTable(paths: readonly PathRow[]): string[] {
  return table(
    ['PATH', 'VERSION', 'MOUNT', 'POLICY', 'READ'],
    paths.map((p) => [
      p.path,
      p.version === undefined ? 'latest' : String(p.version),
      p.resolved ? (p.resolved.mount === '' ? '-' : `${p.resolved.mount} (kv v${p.resolved.kv})`) : '-',
      p.policy,
      p.read === 'failed' && p.problem ? p.problem.reason : p.read === 'notRead' ? 'not read' : 'found',
    ]),
  );
}

const list = (keys: readonly string[]): string => keys.join(', ');

export function changesText(changes: SecretChanges, secret: string): string[] {
  switch (changes.kind) {
    case 'notSynced':
      return ['nothing would be written: the operator writes all keys or none'];
    case 'none':
      return [`nothing would change: Secret ${secret} is in sync`];
    case 'create':
      return [`Secret ${secret} would be created with keys ${list(changes.added)}`];
    case 'update':
      return [
        ...(changes.typeChange
          ? [
              `Secret ${secret} would be deleted and created again: its type changes from ${changes.typeChange.from} to ${changes.typeChange.to}`,
            ]
          : []),
        ...(changes.added.length ? [`keys added: ${list(changes.added)}`] : []),
        ...(changes.changed.length ? [`keys changed: ${list(changes.changed)}`] : []),
        ...(changes.removed.length ? [`keys removed: ${list(changes.removed)}`] : []),
        ...(changes.other ? [`also: ${changes.other}`] : []),
      ];
  }
}

function rolloutText(e: Explanation): string[] {
  const { rollout } = e;
  const condition = rollout.condition
    ? [
        `RolloutRestart condition: ${rollout.condition.status} ${rollout.condition.reason}: ${rollout.condition.message}`,
      ]
    : [];
  if (!rollout.enabled) return ['rollout restarts: off (--rollout-restart is not set)', ...condition];
  const restarts = rollout.restarts.length
    ? `a rollout restart would restart ${list(rollout.restarts)}`
    : 'a rollout restart would restart nothing';
  return [restarts, ...condition];
}

function originText(e: Explanation): string {
  if (e.origin.kind === 'cluster') return 'from the cluster';
  return `from ${fileName(e.origin.file)}${e.origin.applied ? ', the cluster has a version of it' : ', not applied yet'}`;
}

export function formatText(e: Explanation): string {
  const { verdict } = e;
  const lines = [
    `SecretDefinition ${e.definition.namespace}/${e.definition.name} (${originText(e)})`,
    `Secret:        ${e.secret.name} (${e.secret.type})`,
    `Identity:      ${identityText(e.identity, backendWords[e.backend].name)}`,
    `Access policy: ${e.policy ? `${e.policy.file} (${e.policy.rules} rule${e.policy.rules === 1 ? '' : 's'})` : 'none (tenancy off)'}`,
    `Ready:         ${verdict.ready ? 'True' : 'False'} ${verdict.reason}`,
    `               ${verdict.message}`,
    '',
    ...(e.keys.length ? [...keyTable(e.keys), ''] : []),
    ...(e.paths.length ? [...pathTable(e.paths), ''] : []),
    ...e.paths
      .filter((p) => p.problem)
      .map((p) => `${p.path}: ${p.problem?.reason ?? ''}: ${p.problem?.message ?? ''}`),
    ...(e.paths.some((p) => p.problem) ? [''] : []),
    ...(e.deletion
      ? ['Deleting it:', `  ${e.deletion.message}`]
      : [
          'Applying it:',
          ...[...changesText(e.changes, e.secret.name), ...rolloutText(e)].map((l) => `  ${l}`),
        ]),
    ...(e.notes.length ? ['', 'Notes:', ...e.notes.map((n) => `  - ${n}`)] : []),
    '',
    e.wouldSync ? 'Would sync: yes' : e.deletion ? 'Would sync: no, it is being deleted' : 'Would sync: no',
  ];
  // Each line printable: what it quotes from the definition or the backend cannot start another.
  return `${lines.map(printable).join('\n')}\n`;
}
