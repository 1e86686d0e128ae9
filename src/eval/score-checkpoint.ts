/**
 * Scores a set of named weights on a dataset with the WASM path: the graph gets
 * those weights as inputs, everything else stays as stored in the graph. Used to
 * check that an exported safetensors file reproduces the score the studio showed.
 */
import { readOnnx } from '../formats/onnx-read';
import { weightsToInputs } from '../formats/onnx-rewrite';
import { DatasetEvaluator, scoringGraph } from './evaluator';
import { WeightFedSession } from './ort';
import type { EncodedDataset } from './dataset';
import type { Scores } from '../protocol/results';

export interface NamedWeights {
  name: string;
  data: Float32Array;
}

export async function scoreWeights(graphBytes: Uint8Array, graphName: string, weights: readonly NamedWeights[], dataset: EncodedDataset): Promise<Scores> {
  const model = readOnnx(graphBytes, graphName);
  const dims = new Map(model.initializers.map((i) => [i.name, i.dims]));
  const specs = weights.map((w) => {
    const d = dims.get(w.name);
    if (!d) throw new Error(`${graphName} has no initializer named "${w.name}".`);
    return { name: w.name, dims: d };
  });
  const session = await WeightFedSession.create({
    modelBytes: weightsToInputs(scoringGraph(dataset.task, graphBytes, graphName), new Set(weights.map((w) => w.name))),
    path: 'wasm',
    weights: specs,
  });
  try {
    return await new DatasetEvaluator(session, dataset).score(weights.map((w) => w.data));
  } finally {
    await session.release();
  }
}
