import { describe, expect, it } from 'vitest';
import { estimateRemainingMs, formatDuration, offspringCost, workFraction } from './eta';
import { activeMs, pauseClock, resumeClock, startClock } from './run-clock';

describe('estimateRemainingMs', () => {
  it('is unknown without a plan or before two offspring are timed', () => {
    expect(estimateRemainingMs({ planned: 0, done: 5, firstOffspringAt: 0, lastOffspringAt: 100, now: 100 })).toBeNull();
    expect(estimateRemainingMs({ planned: 9, done: 1, firstOffspringAt: 500, lastOffspringAt: 500, now: 600 })).toBeNull();
  });

  it('extrapolates the rate between the first and latest offspring, ignoring the setup before them', () => {
    // Setup took 10 s; then 4 offspring 2 s apart (first at 10 s, latest at 16 s): 5 left at 2 s each.
    expect(estimateRemainingMs({ planned: 9, done: 4, firstOffspringAt: 10_000, lastOffspringAt: 16_000, now: 16_000 })).toBe(10_000);
  });

  it('counts down between offspring and never goes below zero', () => {
    const at = (now: number) => estimateRemainingMs({ planned: 9, done: 4, firstOffspringAt: 10_000, lastOffspringAt: 16_000, now });
    expect(at(17_500)).toBe(8_500);
    expect(at(60_000)).toBe(0);
  });

  it('is zero once everything planned is done', () => {
    expect(estimateRemainingMs({ planned: 6, done: 6, firstOffspringAt: 0, lastOffspringAt: 5, now: 9 })).toBe(0);
  });

  it('leaves paused time out when fed the run clock', () => {
    let clock = startClock(0);
    const first = activeMs(clock, 10_000);
    clock = pauseClock(clock, 11_000);
    clock = resumeClock(clock, 71_000); // paused a minute
    const latest = activeMs(clock, 72_000); // 12 s of running
    expect(latest).toBe(12_000);
    expect(estimateRemainingMs({ planned: 4, done: 2, firstOffspringAt: first, lastOffspringAt: latest, now: latest })).toBe(2 * 2_000);
  });
});

describe('the checkpoints in the bar and the ETA', () => {
  const offspringPhase = { planned: 6, done: 0, firstOffspringAt: null, lastOffspringAt: null };

  it('estimates from the checkpoints scored before any offspring is timed', () => {
    // 3 checkpoints from 1 s; the first scored at 5 s: 4 s a checkpoint, an offspring at half of one.
    const checkpoints = { total: 3, done: 1, startedAt: 1_000, lastAt: 5_000 };
    expect(estimateRemainingMs({ ...offspringPhase, now: 5_000, checkpoints, offspringCost: 0.5 })).toBe(2 * 4_000 + 6 * 2_000);
    // It counts down between checkpoints.
    expect(estimateRemainingMs({ ...offspringPhase, now: 6_000, checkpoints, offspringCost: 0.5 })).toBe(2 * 4_000 + 6 * 2_000 - 1_000);
    // Nothing scored yet: unknown.
    expect(estimateRemainingMs({ ...offspringPhase, now: 6_000, checkpoints: { total: 3, done: 0, startedAt: 1_000, lastAt: null } })).toBeNull();
    // One offspring timed: still the checkpoints' rate, counted from the latest score.
    const one = { planned: 6, done: 1, firstOffspringAt: 20_000, lastOffspringAt: 20_000, now: 20_000 };
    expect(estimateRemainingMs({ ...one, checkpoints: { total: 3, done: 3, startedAt: 1_000, lastAt: 13_000 }, offspringCost: 0.5 })).toBe(5 * 2_000);
  });

  it('times the checkpoints after the first between the first and the latest (the first warms up)', () => {
    const checkpoints = { total: 4, done: 3, startedAt: 0, firstAt: 10_000, lastAt: 14_000 };
    expect(estimateRemainingMs({ ...offspringPhase, planned: 2, now: 14_000, checkpoints, offspringCost: 0.5 })).toBe(2_000 + 2 * 1_000);
  });

  it('times a one-shot merge: its checkpoints, then the merge scored like one', () => {
    const merge = { planned: 0, done: 0, firstOffspringAt: null, lastOffspringAt: null, now: 7_000, merges: 1 };
    expect(estimateRemainingMs({ ...merge, checkpoints: { total: 3, done: 2, startedAt: 1_000, lastAt: 7_000 } })).toBe(2 * 3_000);
    expect(estimateRemainingMs({ ...merge, checkpoints: { total: 3, done: 0, startedAt: 1_000, lastAt: null } })).toBeNull();
    // Top-k (no plan, no merge) stays unknown.
    expect(estimateRemainingMs({ ...merge, merges: 0, checkpoints: { total: 3, done: 2, startedAt: 1_000, lastAt: 7_000 } })).toBeNull();
  });

  it('fills the bar with the checkpoints, the offspring at their cost, and the merge', () => {
    const run = { checkpointsTotal: 3, checkpointsDone: 0, offspringTotal: 6, offspringDone: 0, mergesTotal: 0, mergesDone: 0, offspringCost: 0.5 };
    expect(workFraction(run)).toBe(0);
    expect(workFraction({ ...run, checkpointsDone: 3 })).toBe(0.5);
    expect(workFraction({ ...run, checkpointsDone: 3, offspringDone: 3 })).toBe(0.75);
    expect(workFraction({ ...run, checkpointsDone: 3, offspringDone: 6 })).toBe(1);
    const merge = { ...run, offspringTotal: 0, mergesTotal: 1 };
    expect(workFraction({ ...merge, checkpointsDone: 2 })).toBe(0.5);
    expect(workFraction({ ...merge, checkpointsDone: 3, mergesDone: 1 })).toBe(1);
    // Top-k: its merge count is not known up front.
    expect(workFraction({ ...merge, mergesTotal: 0, checkpointsDone: 3 })).toBe(0);
  });

  it('weighs an offspring by its rows over a checkpoint\'s', () => {
    expect(offspringCost(600, 200, 0)).toBe(0.75);
    expect(offspringCost(600, 200, 100)).toBe(0.125);
    expect(offspringCost(600, 200, 900)).toBe(0.75);
    expect(offspringCost(0, 0, 0)).toBe(1);
  });
});

describe('run clock', () => {
  it('stops counting while paused, the pause in progress included', () => {
    let clock = startClock(1_000);
    expect(activeMs(clock, 4_000)).toBe(3_000);
    clock = pauseClock(clock, 4_000);
    expect(activeMs(clock, 9_000)).toBe(3_000);
    clock = pauseClock(clock, 6_000); // pausing again does not move the pause's start
    clock = resumeClock(clock, 10_000);
    expect(activeMs(clock, 12_000)).toBe(5_000);
    expect(resumeClock(clock, 20_000)).toBe(clock);
  });
});

describe('formatDuration', () => {
  it('reads in seconds, minutes or hours', () => {
    expect(formatDuration(44_600)).toBe('45 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
  });
});
