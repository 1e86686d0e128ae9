import { describe, expect, it } from 'vitest';
import { estimateRemainingMs, formatDuration } from './eta';
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
