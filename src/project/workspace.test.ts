/** Bad checkpoints a user may drop: weights in external data, NaN/Inf weights. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOnnx } from '../formats/onnx-read';
import { hasSamples, sampleBytes, sampleFiles } from '../testing/samples';
import { onnxFloatTensors } from '../merge/layout';
import { CheckpointError, readTensorCheckpoint } from './tensor-sets';
import { Workspace } from './workspace';

const fixture = (name: string) => new Uint8Array(readFileSync(path.resolve(import.meta.dirname, '../formats/fixtures', name)));

describe('checkpoints the studio cannot or should not merge as they are', () => {
  it('a model with its weights in external data needs its data file: the studio names it, the CLI reader says what to do', () => {
    const ws = new Workspace();
    const report = ws.addFiles([{ name: 'tiny-external.onnx', bytes: fixture('tiny-external.onnx') }]);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]!.message).toMatch(/^tiny-external\.onnx: keeps its weights in tiny-external\.onnx\.data, which is not in this drop/);
    expect(() => readTensorCheckpoint({ name: 'tiny-external.onnx', bytes: fixture('tiny-external.onnx') })).toThrow(CheckpointError);
  });

  it.skipIf(!hasSamples)('a checkpoint with NaN and Inf weights loads with a count to warn about; the others are untouched', () => {
    const bytes = sampleBytes('expert-b.onnx').slice();
    // Overwrite three weights of the first tensor, found by their bytes in the file.
    const first = onnxFloatTensors(readOnnx(bytes, 'b'))[0]!.data;
    const view = new DataView(bytes.buffer);
    for (const [k, value] of [[0, NaN], [1, Infinity], [2, -Infinity]] as const) {
      const target = new Uint8Array(new Float32Array([first[k]!]).buffer);
      let at = -1;
      for (let i = 0; i + 4 <= bytes.length && at < 0; i++) if (bytes[i] === target[0] && bytes[i + 1] === target[1] && bytes[i + 2] === target[2] && bytes[i + 3] === target[3]) at = i;
      expect(at).toBeGreaterThan(0);
      view.setFloat32(at, value, true);
    }
    const ws = new Workspace();
    const report = ws.addFiles([...sampleFiles().filter((f) => f.name !== 'expert-b.onnx'), { name: 'expert-b.onnx', bytes }]);
    expect(report.problems).toEqual([]);
    const byName = new Map(report.checkpoints.map((c) => [c.name, c.nonFinite]));
    expect(byName.get('expert-b.onnx')).toBe(3);
    expect(byName.get('expert-a.onnx')).toBe(0);
  });
});

describe('running out of memory', () => {
  it('a population that cannot be allocated stops the run with the numbers', async () => {
    const { allocatePopulation } = await import('../population/population');
    const { CpuPopulation } = await import('../population/cpu-population');
    const { CpuMerger } = await import('../merge/cpu-merger');
    const { OutOfMemoryError } = await import('../protocol/errors');
    const huge = 2 ** 33;
    const layout = { slots: [{ name: 'w', dims: [huge], size: huge, offset: 0, depth: 0, layer: 'w' }], totalSize: huge };
    const small = [new Float32Array(4), new Float32Array(4)];
    const attempt = () => allocatePopulation('WASM path', huge, 2, () => new CpuPopulation(layout, small, new CpuMerger(layout, { method: 'average', lambda: 1, density: 0.5, t: 0.5, alpha: 0.9, seed: 0 }, null)));
    expect(attempt).toThrow(OutOfMemoryError);
    expect(attempt).toThrow(/Out of memory on the WASM path: the run needs about 160\.00 GiB \(5 copies of 8,589,934,592 evolved parameters in f32\)/);
    // Anything else is not an allocation failure and passes through.
    expect(() => allocatePopulation('GPU', 1, 2, () => { throw new TypeError('bug'); })).toThrow(TypeError);
  });
});
