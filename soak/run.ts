// `npm run soak`: churn and faults on a fresh local stack, the built operator as two replicas with
// leader election, watched by an independent checker. Prints one table and writes JSON; exits 1
// if the checker saw any violation.
//
//   npm run soak -- --minutes 60 --n 2000 --seed 1 --json soak.json
//   npm run soak -- --minutes 3 --n 200 --faults openbao-restart,leader-kill --fault-every 30

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startStack, stopStack } from '../test/harness/stack.ts';
import { faultKinds, type FaultKind } from './faults.ts';
import { table } from './report.ts';
import { runSoak } from './soak.ts';

const repoRoot = join(import.meta.dirname, '..');

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    n: { type: 'string', default: '2000' },
    paths: { type: 'string' },
    namespaces: { type: 'string', default: '4' },
    rate: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    faults: { type: 'string', default: faultKinds.join(',') },
    /** Seconds between faults; by default a fifth of the run, within 30 to 120. */
    'fault-every': { type: 'string' },
    interval: { type: 'string', default: '10' },
    slack: { type: 'string', default: '10' },
    json: { type: 'string' },
    /** Run src/main.ts instead of building dist/main.js. */
    source: { type: 'boolean', default: false },
  },
});

function whole(name: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`soak: --${name} must be a whole number of at least ${min}, not ${String(text)}\n`);
    process.exit(2);
  }
  return value;
}

function faultList(text: string | undefined): FaultKind[] {
  const names = (text ?? '').split(',').filter((s) => s !== '');
  const known: readonly string[] = faultKinds;
  const unknown = names.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    process.stderr.write(`soak: unknown faults ${unknown.join(', ')}; known: ${faultKinds.join(', ')}\n`);
    process.exit(2);
  }
  return names as FaultKind[];
}

const n = whole('n', values.n, 1);
const minutes = whole('minutes', values.minutes, 1);
/** Five faults in a short run, one every two minutes in a long one. */
function defaultFaultEvery(runMinutes: number): number {
  return Math.max(30, Math.min(120, Math.floor((runMinutes * 60) / 5)));
}
const log = (line: string): void => void process.stderr.write(`[soak] ${line}\n`);
const options = {
  seed: whole('seed', values.seed, 0),
  minutes,
  n,
  paths: whole('paths', values.paths ?? String(Math.max(1, Math.floor(n / 2))), 1),
  namespaces: whole('namespaces', values.namespaces, 1),
  rate: whole('rate', values.rate, 1),
  faults: faultList(values.faults),
  faultEveryS: whole('fault-every', values['fault-every'] ?? String(defaultFaultEvery(minutes)), 10),
  intervalSeconds: whole('interval', values.interval, 1),
  leaseSeconds: 15,
  slackSeconds: whole('slack', values.slack, 0),
  entry: values.source ? join(repoRoot, 'src', 'main.ts') : join(repoRoot, 'dist', 'main.js'),
  log,
};

if (!values.source) {
  log('building the operator (npm run build)');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
}
const dir = join(tmpdir(), `secrets-manager-soak-${process.pid}-${randomBytes(3).toString('hex')}`);
const state = await startStack(dir, { report: log });
const result = await runSoak(state, options).finally(() => stopStack(dir));
process.stdout.write(`${table(result)}\n`);
if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
process.exit(result.violations.length > 0 ? 1 : 0);
