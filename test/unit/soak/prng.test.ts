import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../../soak/prng.ts';

test('one seed gives the same sequence, another seed a different one', () => {
  const take = (seed: number): number[] => {
    const prng = mulberry32(seed);
    return Array.from({ length: 8 }, () => prng.below(1000));
  };
  assert.deepEqual(take(1), take(1));
  assert.notDeepEqual(take(1), take(2));
});

test('numbers fall in [0, 1) and below(n) in [0, n)', () => {
  const prng = mulberry32(42);
  for (let i = 0; i < 10_000; i += 1) {
    const x = prng.next();
    assert.ok(x >= 0 && x < 1);
    const k = prng.below(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
});
