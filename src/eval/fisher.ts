/**
 * Diagonal empirical Fisher, F = E[(∂ log p(y|x) / ∂θ)²] with the dev label y, for the
 * parameters where onnxruntime-web lets us compute the gradient exactly: the classifier
 * head. onnxruntime-web has no autodiff, but for a final linear layer z = W·h + b feeding
 * the logits, ∂ log softmax(z)_y / ∂z = onehot(y) − softmax(z) =: δ, so per example
 * ∂/∂W[o,i] = δ_o·h_i and ∂/∂b[o] = δ_o; we capture h (the head's input) and z.
 * Every other tensor has no sound Fisher here: the merger averages those, and the UI
 * says so ("Fisher (head only)").
 */
import type { OnnxModel } from '../formats/onnx-read';
import { addGraphOutputs, findLinearLayers, type LinearLayer } from '../formats/onnx-outputs';
import { captureOverDataset } from './gram';
import type { EncodedDataset } from './dataset';

export class FisherUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FisherUnavailableError';
  }
}

export interface HeadLayer extends LinearLayer {
  /** The graph output the head writes (the logits). */
  outputName: string;
}

/** The linear layer whose output is the graph's first output, or null when there is none. */
export function findHeadLayer(bytes: Uint8Array, model: OnnxModel, fileName: string): HeadLayer | null {
  const logits = model.outputs[0]?.name;
  for (const layer of findLinearLayers(bytes, model, fileName)) {
    if (model.nodes[layer.nodeIndex]?.outputs.includes(logits)) return { ...layer, outputName: logits };
  }
  return null;
}

/** Per-element Fisher of the head's weight (its stored layout) and bias, averaged over examples. */
export interface HeadFisher {
  weight: Float64Array;
  bias: Float64Array | null;
}

export async function computeHeadFisher(modelBytes: Uint8Array, head: HeadLayer, dataset: EncodedDataset, fileName: string): Promise<HeadFisher> {
  const { inDim, outDim } = head;
  const sumInSq = new Float64Array(outDim * inDim);
  const sumDeltaSq = new Float64Array(outDim);
  let examples = 0;
  const names = [head.inputName, head.outputName];
  await captureOverDataset(addGraphOutputs(modelBytes, [head.inputName], fileName), names, dataset, { batchSize: 64, fileName }, (captured, batch) => {
    const h = captured.get(head.inputName)!;
    const z = captured.get(head.outputName)!;
    if (h.data.length !== batch.rows * inDim || z.data.length !== batch.rows * outDim) {
      throw new FisherUnavailableError(`${fileName}: the head's input is not one ${inDim}-vector per example (shape [${h.dims.join(', ')}]); Fisher needs a pooled classifier head.`);
    }
    const delta = new Float64Array(outDim);
    for (let r = 0; r < batch.rows; r++) {
      const label = dataset.labels[batch.start + r];
      let max = -Infinity;
      for (let o = 0; o < outDim; o++) max = Math.max(max, z.data[r * outDim + o]);
      let sum = 0;
      for (let o = 0; o < outDim; o++) sum += Math.exp(z.data[r * outDim + o] - max);
      for (let o = 0; o < outDim; o++) {
        delta[o] = (o === label ? 1 : 0) - Math.exp(z.data[r * outDim + o] - max) / sum;
        sumDeltaSq[o] += delta[o] * delta[o];
      }
      for (let o = 0; o < outDim; o++) {
        const d2 = delta[o] * delta[o];
        for (let i = 0; i < inDim; i++) {
          const x = h.data[r * inDim + i];
          sumInSq[o * inDim + i] += d2 * x * x;
        }
      }
      examples++;
    }
  });
  if (examples === 0) throw new FisherUnavailableError(`${fileName}: the dev set is empty.`);
  // sumInSq is [out, in]; store in the weight's own layout.
  const weight = new Float64Array(outDim * inDim);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) {
      const f = sumInSq[o * inDim + i] / examples;
      weight[head.layout === 'out-in' ? o * inDim + i : i * outDim + o] = f;
    }
  }
  return { weight, bias: head.biasName ? sumDeltaSq.map((v) => v / examples) : null };
}

/** θ = Σ F_i θ_i / Σ F_i per element; elements where every F_i is 0 get the plain mean. */
export function fisherWeightedMerge(models: readonly Float32Array[], fishers: readonly Float64Array[], out: Float32Array): void {
  const n = out.length;
  for (let j = 0; j < n; j++) {
    let num = 0;
    let den = 0;
    let plain = 0;
    for (let m = 0; m < models.length; m++) {
      num += fishers[m][j] * models[m][j];
      den += fishers[m][j];
      plain += models[m][j];
    }
    out[j] = den > 0 ? num / den : plain / models.length;
  }
}
