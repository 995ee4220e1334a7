import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faultKinds, faultSchedule, processEndingFaults, recoveryBudgetS } from '../../../soak/faults.ts';
import { mulberry32 } from '../../../soak/prng.ts';

test('a seed reproduces the fault schedule', () => {
  const kinds = ['openbao-restart', 'leader-kill', 'leader-stop'] as const;
  assert.deepEqual(
    faultSchedule(mulberry32(7), kinds, 3600, 120, 60),
    faultSchedule(mulberry32(7), kinds, 3600, 120, 60),
  );
});

test('every kind comes once before any comes twice, and none falls in the tail', () => {
  const kinds = ['openbao-restart', 'leader-kill', 'leader-stop', 'apiserver-restart'] as const;
  const schedule = faultSchedule(mulberry32(3), kinds, 1200, 60, 100);
  assert.deepEqual(
    schedule
      .slice(0, 4)
      .map((f) => f.kind)
      .sort(),
    [...kinds].sort(),
  );
  assert.ok(schedule.length >= 15);
  for (const fault of schedule) assert.ok(fault.atS <= 1100, `${fault.kind} at ${fault.atS}s`);
  for (let i = 1; i < schedule.length; i += 1) {
    assert.ok((schedule[i]?.atS ?? 0) > (schedule[i - 1]?.atS ?? 0), 'in time order');
  }
});

test('no kinds: no faults', () => {
  assert.deepEqual(faultSchedule(mulberry32(1), [], 600, 60, 0), []);
});

test("from the quiet time on no fault ends an operator process (the apiserver's restart included); Vault's go on", () => {
  const schedule = faultSchedule(mulberry32(5), faultKinds, 3600, 120, 60, 1800);
  const ends = processEndingFaults;
  assert.ok(ends.includes('apiserver-restart'), 'a restarted apiserver ends the leader');
  const late = schedule.filter((f) => f.atS >= 1800);
  assert.ok(late.length >= 10, `${late.length} faults in the last half`);
  assert.deepEqual(
    late.filter((f) => ends.includes(f.kind)),
    [],
  );
  const early = new Set(schedule.filter((f) => f.atS < 1800).map((f) => f.kind));
  assert.deepEqual([...early].sort(), [...faultKinds].sort(), 'every kind in the first half');
});

test('a quiet time too early for a whole round still gets every process-ending kind before it, and every kind overall', () => {
  // A quarter of an hour at two minutes apart holds seven slots: fewer than the eight kinds.
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
    const schedule = faultSchedule(mulberry32(seed), faultKinds, 3600, 120, 60, 900);
    const early = schedule.filter((f) => f.atS < 900).map((f) => f.kind);
    assert.deepEqual(
      [...new Set(early.filter((k) => processEndingFaults.includes(k)))].sort(),
      [...processEndingFaults].sort(),
      `seed ${seed}: ${early.join(', ')}`,
    );
    assert.deepEqual(
      schedule.filter((f) => f.atS >= 900 && processEndingFaults.includes(f.kind)),
      [],
    );
    assert.deepEqual(
      [...new Set(schedule.map((f) => f.kind))].sort(),
      [...faultKinds].sort(),
      `seed ${seed}`,
    );
    const firstRound = schedule.slice(0, faultKinds.length).map((f) => f.kind);
    assert.equal(
      new Set(firstRound).size,
      faultKinds.length,
      `seed ${seed}: each kind once first: ${firstRound.join(', ')}`,
    );
  }
});

test('wherever the quiet time falls within a slot’s jitter, the process-ending kinds come before it', () => {
  for (let quietS = 841; quietS <= 880; quietS += 1) {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const schedule = faultSchedule(mulberry32(seed), faultKinds, 3600, 120, 60, quietS);
      const early = new Set(schedule.filter((f) => f.atS < quietS).map((f) => f.kind));
      const late = schedule.filter((f) => f.atS >= quietS && processEndingFaults.includes(f.kind));
      assert.deepEqual(late, [], `quiet at ${quietS}s, seed ${seed}`);
      for (const kind of processEndingFaults)
        assert.ok(early.has(kind), `${kind}: quiet at ${quietS}s, seed ${seed}`);
    }
  }
});

test('a quiet time too early for one of each process-ending kind moves later until they fit', () => {
  // Twenty minutes at two minutes apart: a quarter (300 s) holds two sure slots, for four kinds.
  for (const seed of [1, 2, 3]) {
    const schedule = faultSchedule(mulberry32(seed), faultKinds, 1200, 120, 55, 300);
    const kinds = new Set(schedule.map((f) => f.kind));
    for (const kind of processEndingFaults) assert.ok(kinds.has(kind), `seed ${seed}: ${kind}`);
  }
});

test('without a quiet time a run too short for a round keeps the seeded order (the short soak depends on it)', () => {
  const kinds = ['openbao-restart', 'leader-kill', 'leader-stop', 'apiserver-restart'] as const;
  assert.deepEqual(faultSchedule(mulberry32(11), kinds, 200, 60, 20), [
    { kind: 'leader-stop', atS: 70 },
    { kind: 'leader-kill', atS: 137 },
  ]);
});

test('a fault is recovered within one refresh interval and the slack; where the leader is lost, its Lease too', () => {
  const times = { intervalSeconds: 30, leaseSeconds: 15, slackSeconds: 10 };
  const budgets = Object.fromEntries(faultKinds.map((kind) => [kind, recoveryBudgetS(kind, times)]));
  assert.deepEqual(budgets, {
    'leader-kill': 55,
    'leader-kill-mid-sync': 55,
    'leader-stop': 40,
    'openbao-restart': 40,
    'openbao-seal': 40,
    'vault-hang': 40,
    'token-revoke': 40,
    'apiserver-restart': 55,
  });
});
