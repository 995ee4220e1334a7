import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faultSchedule } from '../../../soak/faults.ts';
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
