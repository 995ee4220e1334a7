import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeStretch, RefreshBudget, type Stretch } from '../../../src/providers/refresh-budget.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function setup(qps: number) {
  const clock = new FakeClock();
  const reports: { now: Stretch; before: Stretch; startedOrEnded: boolean }[] = [];
  const budget = new RefreshBudget({
    qps,
    clock,
    settleMs: 1_000,
    onChange: (now, before, startedOrEnded) => reports.push({ now, before, startedOrEnded }),
  });
  const paths = Array.from({ length: 200 }, (_, i) => ({ id: i }));
  return { clock, budget, reports, paths };
}

describe('the refresh budget', () => {
  test('paths that fit in 80% of --vault.qps are read as often as they ask', () => {
    const { budget, paths } = setup(10);
    // 80 paths every 10 s: 8 reads/s, exactly the 8/s left to refreshes.
    for (const path of paths.slice(0, 80)) budget.ask(path, 10_000);
    assert.equal(budget.factor, 1);
    assert.equal(budget.stretched(10_000), 10_000);
  });

  test('more demand than the budget stretches every interval by the same factor', () => {
    const { budget, paths } = setup(10);
    // 160 paths every 10 s (16/s) and 40 every 5 s (8/s): 24 reads/s against 8/s.
    for (const path of paths.slice(0, 160)) budget.ask(path, 10_000);
    for (const path of paths.slice(160)) budget.ask(path, 5_000);
    assert.ok(Math.abs(budget.factor - 3) < 1e-9);
    assert.ok(Math.abs(budget.stretched(10_000) - 30_000) < 1e-6);
    assert.ok(Math.abs(budget.stretched(5_000) - 15_000) < 1e-6);
    const { demandPerSecond, budgetPerSecond, paths: polled } = budget.current;
    assert.deepEqual([Math.round(demandPerSecond), budgetPerSecond, polled], [24, 8, 200]);
  });

  test('a path that asks again replaces its ask, and one that goes gives its share back', () => {
    const { budget, paths } = setup(10);
    for (const path of paths.slice(0, 160)) budget.ask(path, 10_000);
    assert.ok(Math.abs(budget.factor - 2) < 1e-9);
    for (const path of paths.slice(0, 160)) budget.ask(path, 20_000);
    assert.equal(budget.factor, 1);
    for (const path of paths.slice(0, 160)) budget.ask(path, 5_000);
    assert.ok(Math.abs(budget.factor - 4) < 1e-9);
    for (const path of paths.slice(0, 160)) budget.ask(path, undefined);
    assert.deepEqual(budget.current, { factor: 1, demandPerSecond: 0, budgetPerSecond: 8, paths: 0 });
  });

  test('a stretch is reported once the paths settle, and again only when it ends or moves by a tenth', async () => {
    const { clock, budget, reports, paths } = setup(10);
    for (const path of paths.slice(0, 160)) budget.ask(path, 10_000);
    await clock.advance(999);
    assert.equal(reports.length, 0, 'not while paths keep coming');
    assert.equal(budget.isStretched, false);
    await clock.advance(1);
    assert.deepEqual(
      reports.map((r) => [r.before.factor, Math.round(r.now.factor * 100) / 100]),
      [[1, 2]],
    );
    assert.equal(budget.isStretched, true);
    // 2 -> 2.1: under a tenth, not reported.
    for (const path of paths.slice(160, 168)) budget.ask(path, 10_000);
    await clock.advance(5_000);
    assert.equal(reports.length, 1);
    // 2.1 -> 2.5: reported, against the factor reported last.
    for (const path of paths.slice(168)) budget.ask(path, 10_000);
    await clock.advance(5_000);
    assert.deepEqual(
      reports.map((r) => Math.round(r.now.factor * 100) / 100),
      [2, 2.5],
    );
    for (const path of paths) budget.ask(path, undefined);
    await clock.advance(5_000);
    assert.deepEqual(
      reports.map((r) => Math.round(r.now.factor * 100) / 100),
      [2, 2.5, 1],
    );
    assert.equal(budget.isStretched, false);
    // Ready reasons change when it starts and when it ends, not when it moves.
    assert.deepEqual(
      reports.map((r) => r.startedOrEnded),
      [true, false, true],
    );
  });

  test('a steady stream of new paths is still reported, within ten quiet periods of the stretch', async () => {
    const { clock, budget, reports, paths } = setup(10);
    let stretchedAt: number | undefined;
    for (const path of paths) {
      budget.ask(path, 10_000);
      if (budget.factor > 1.05 + 1e-9) stretchedAt ??= clock.monotonic();
      await clock.advance(500);
      if (reports.length > 0) break;
    }
    assert.equal(reports.length, 1);
    assert.equal(stretchedAt, 42_000, 'the 85th path is 5 % over the budget');
    const delay = clock.monotonic() - stretchedAt;
    assert.ok(delay <= 10_000, `reported ${delay} ms after the stretch began`);
  });

  test('demand hovering at the budget is reported once: a stretch starts over 105 % of it and ends under 95 %', async () => {
    const { clock, budget, reports, paths } = setup(10);
    // 80 paths every 10 s are exactly the 8 reads/s of the budget; each path is 1.25 % of it.
    const demand = async (count: number): Promise<void> => {
      paths.forEach((path, i) => budget.ask(path, i < count ? 10_000 : undefined));
      await clock.advance(1_000);
    };
    for (const count of [82, 79, 83, 80, 84]) await demand(count);
    assert.equal(reports.length, 0, 'up to 105 %: nothing to report');
    await demand(85);
    for (const count of [79, 81, 77, 82, 77]) await demand(count);
    assert.equal(budget.isStretched, true, 'still stretched at 96.25 %');
    await demand(75);
    assert.deepEqual(
      reports.map((r) => [r.now.paths, Math.round(r.now.factor * 10_000) / 10_000]),
      [
        [85, 1.0625],
        [75, 1],
      ],
    );
    assert.equal(budget.isStretched, false);
  });

  test('the warning says how far, why, and what to raise', () => {
    const stretch = { factor: 4.17, demandPerSecond: 166.7, budgetPerSecond: 40, paths: 5000 };
    const { level, message, fields } = describeStretch(stretch, 50);
    assert.equal(level, 'warn');
    assert.equal(
      message,
      'Vault refreshes are stretched: 5000 paths ask for 166.7 reads/s, but --vault.qps 50 leaves 40/s to refreshes, so every path is read 4.17 times less often than its interval asks; raise --vault.qps to at least 209, or lengthen --reconcile-period or spec.refreshInterval',
    );
    assert.deepEqual(fields, {
      paths: 5000,
      demandPerSecond: 166.7,
      refreshBudgetPerSecond: 40,
      stretch: 4.17,
    });
    assert.equal(describeStretch({ ...stretch, factor: 1 }, 50).level, 'info');
  });
});

test('a stopped budget reports nothing, though the pollers let their paths go afterwards', async () => {
  const clock = new FakeClock();
  const reports: number[] = [];
  const budget = new RefreshBudget({ qps: 1, clock, onChange: (now) => reports.push(now.factor) });
  const path = {};
  budget.ask(path, 100);
  await clock.advance(2_000);
  assert.deepEqual(reports, [12.5]);
  budget.stop();
  budget.ask(path, undefined);
  await clock.advance(60_000);
  assert.deepEqual(reports, [12.5]);
  assert.equal(clock.pending, 0);
});
