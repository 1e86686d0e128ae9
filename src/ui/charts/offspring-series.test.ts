import { describe, expect, it } from 'vitest';
import type { OffspringReport } from '../../protocol/events';
import { acceptanceByGeneration, acceptedLog, scatterPoints, slotLabel } from './offspring-series';

const offspring = (generation: number, index: number, individual: number | null, score: number, previousScore: number | null, accepted: boolean): OffspringReport => ({
  generation,
  index,
  perGeneration: 3,
  individual,
  score,
  previousScore,
  accepted,
});

// Generation 1 fully scored (2 of 3 accepted), generation 2 under way (1 rejected so far).
const records = [
  offspring(1, 1, 2, 0.8, 0.75, true),
  offspring(1, 2, 0, 0.7, 0.8, false),
  offspring(1, 3, 1, 0.8, 0.8, true),
  offspring(2, 1, 1, 0.78, 0.8, false),
];

describe('acceptanceByGeneration', () => {
  it('gives accepted / offspring per generation and reserves the planned ones not started', () => {
    expect(acceptanceByGeneration(records, 3)).toEqual([
      { generation: 1, offspring: 3, accepted: 2, rate: 2 / 3 },
      { generation: 2, offspring: 1, accepted: 0, rate: 0 },
      { generation: 3, offspring: 0, accepted: 0, rate: null },
    ]);
  });

  it('extends past the plan when a run scored more generations', () => {
    expect(acceptanceByGeneration(records, 1).map((p) => p.generation)).toEqual([1, 2]);
    expect(acceptanceByGeneration([], 0)).toEqual([]);
  });
});

describe('scatterPoints', () => {
  it('by generation: spreads one generation’s offspring by individual, within the generation’s slot', () => {
    const points = scatterPoints(records, 'generation', 3);
    expect(points.map((p) => p.x)).toEqual([1.3, 0.7, 1, 2]);
    expect(points.map((p) => p.accepted)).toEqual([true, false, true, false]);
    for (const p of points) expect(Math.abs(p.x - p.generation)).toBeLessThanOrEqual(0.3 + 1e-12);
  });

  it('by individual: puts each offspring at its individual, spread by generation', () => {
    const points = scatterPoints(records, 'individual', 3);
    expect(points.map((p) => [p.individual, p.x])).toEqual([
      [2, 1.7],
      [0, -0.3],
      [1, 0.7],
      [1, 1],
    ]);
  });

  it('leaves out merges without an individual (Top-k) by individual, and places them by position by generation', () => {
    const merge = offspring(1, 2, null, 0.6, null, false);
    expect(scatterPoints([merge], 'individual', 1)).toEqual([]);
    expect(scatterPoints([merge], 'generation', 1)[0]!.x).toBe(1);
  });
});

describe('acceptedLog', () => {
  it('lists accepted offspring newest first with their gain (0 for a win on the tie-break alone)', () => {
    const log = acceptedLog(records);
    expect(log.map((e) => [e.generation, e.individual, e.index])).toEqual([
      [1, 1, 3],
      [1, 2, 1],
    ]);
    expect(log[0]!.improvement).toBe(0);
    expect(log[1]!.improvement).toBeCloseTo(0.05, 12);
  });
});

describe('slotLabel', () => {
  it('names the slot, the checkpoint it started as and how often it was replaced', () => {
    const names = ['expert-a.onnx', 'expert-b.onnx'];
    const log = acceptedLog([
      offspring(1, 1, 0, 0.8, 0.7, true),
      offspring(1, 2, 1, 0.8, 0.7, true),
      offspring(2, 1, 0, 0.85, 0.8, true),
      offspring(2, 2, 1, 0.7, 0.8, false),
      offspring(3, 1, 0, 0.9, 0.85, true),
    ]);
    expect(log.map((e) => slotLabel(e, names))).toEqual([
      'slot 1 (expert-a.onnx, replaced 3×)',
      'slot 1 (expert-a.onnx, replaced 2×)',
      'slot 2 (expert-b.onnx)',
      'slot 1 (expert-a.onnx)',
    ]);
    expect(slotLabel({ individual: null, replacement: 0 }, names)).toBe('–');
    expect(slotLabel({ individual: 4, replacement: 2 }, names)).toBe('slot 5 (replaced 2×)');
  });
});
