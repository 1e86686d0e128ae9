/**
 * mergekit's slices: which input tensors make each output tensor, and under which name.
 * A config's `models:` is one slice over every layer of every model; `slices:` stack layer
 * ranges (a passthrough frankenmerge: 24 layers of one model then 20 of another gives a
 * 44-layer model, its layers renamed 0…43). As mergekit plans it (plan.py): the embeddings
 * come from the first slice's sources (t = 0), each slice's layers in order (t = layer
 * offset / (layers − 1) in the slice), then the other non-layer tensors (final norm, head)
 * from the last slice's sources (t = 1). Layers are found by name ("model.layers.3.",
 * "transformer.h.3.", "encoder.layer.3."). Pure module: names in, plans out.
 */
import type { MergekitParameters } from './mergekit-settings';

export interface SliceSource {
  /** The model reference, as the config names it. */
  model: string;
  /** [first, end) of the source's layers. */
  layerRange: [number, number];
  parameters: MergekitParameters;
}

export interface Slice {
  sources: SliceSource[];
  parameters: MergekitParameters;
}

/** One output tensor: its name, t, its slice and each source model's input tensor. */
export interface OutputTensor {
  name: string;
  t: number;
  slice: number;
  inputs: { model: string; tensor: string }[];
}

const LAYER = /^(.*?(?:^|\.)(?:layers|layer|h|blocks|block))\.(\d+)\.(.+)$/;
/** Non-layer tensors planned before the layers (mergekit's pre_weights: the embeddings). */
const PRE_WEIGHT = /embed|wte|wpe|word_embeddings|position_embeddings|token_type_embeddings/;

export interface LayerName {
  prefix: string;
  index: number;
  rest: string;
}

/** The layer a tensor name belongs to ("model.layers.3.mlp.up.weight" → model.layers, 3, mlp.up.weight), or null. */
export function layerName(name: string): LayerName | null {
  const m = LAYER.exec(name);
  return m ? { prefix: m[1]!, index: Number(m[2]), rest: m[3]! } : null;
}

/** Layers in a checkpoint: the largest layer index + 1 (0 without numbered layers). */
export function layerCount(names: readonly string[]): number {
  let count = 0;
  for (const n of names) {
    const l = layerName(n);
    if (l) count = Math.max(count, l.index + 1);
  }
  return count;
}

/** mergekit's t of a tensor merged over whole models: layer / (layers − 1); embeddings 0; the rest 1. */
export function tensorT(name: string, layers: number): number {
  const l = layerName(name);
  if (l) return layers > 1 ? l.index / (layers - 1) : 1;
  return PRE_WEIGHT.test(name) ? 0 : 1;
}

export class SliceError extends Error {
  override name = 'SliceError';
}

/**
 * The output tensors of stacked slices. names(model) lists a source model's tensors in file
 * order; the first source of the first slice gives the output's order of non-layer tensors.
 */
export function planSlices(slices: readonly Slice[], names: (model: string) => readonly string[]): OutputTensor[] {
  if (slices.length === 0) throw new SliceError('no slices to merge.');
  const has = new Map<string, Set<string>>();
  const nameSet = (model: string) => {
    let set = has.get(model);
    if (!set) has.set(model, (set = new Set(names(model))));
    return set;
  };
  const need = (model: string, tensor: string) => {
    if (!nameSet(model).has(tensor)) throw new SliceError(`${model} has no tensor "${tensor}".`);
    return { model, tensor };
  };
  const out: OutputTensor[] = [];
  const first = slices[0]!;
  const last = slices[slices.length - 1]!;
  const reference = names(first.sources[0]!.model);
  const nonLayer = reference.filter((n) => !layerName(n));
  for (const name of nonLayer.filter((n) => PRE_WEIGHT.test(n))) out.push({ name, t: 0, slice: 0, inputs: first.sources.map((s) => need(s.model, name)) });
  let next = 0;
  slices.forEach((slice, s) => {
    if (slice.sources.length === 0) throw new SliceError(`slice ${s + 1} has no sources.`);
    const lengths = slice.sources.map((src) => src.layerRange[1] - src.layerRange[0]);
    if (!lengths.every((n) => n === lengths[0])) throw new SliceError(`slice ${s + 1}: all its sources must have the same number of layers (layer_range lengths ${lengths.join(', ')}).`);
    for (const src of slice.sources) {
      const available = layerCount([...nameSet(src.model)]);
      const [a, b] = src.layerRange;
      if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b > a && b <= available)) {
        throw new SliceError(`slice ${s + 1}: layer_range [${a}, ${b}] of ${src.model} is outside its ${available} layers (give [first, end) with 0 ≤ first < end ≤ ${available}).`);
      }
    }
    const count = lengths[0]!;
    const lead = slice.sources[0]!;
    for (let k = 0; k < count; k++) {
      const t = count > 1 ? k / (count - 1) : 1;
      const index = lead.layerRange[0] + k;
      const layerTensors = names(lead.model)
        .map(layerName)
        .filter((l): l is LayerName => l !== null && l.index === index);
      for (const l of layerTensors) {
        const inputs = slice.sources.map((src) => need(src.model, `${l.prefix}.${src.layerRange[0] + k}.${l.rest}`));
        out.push({ name: `${l.prefix}.${next}.${l.rest}`, t, slice: s, inputs });
      }
      next++;
    }
  });
  for (const name of nonLayer.filter((n) => !PRE_WEIGHT.test(n))) out.push({ name, t: 1, slice: slices.length - 1, inputs: last.sources.map((s) => need(s.model, name)) });
  return out;
}

/**
 * The output tensors of a `models:` merge: every tensor of the first model under its own
 * name, from each model's tensor of that name, at mergekit's t (tensorT).
 */
export function planWholeModels(models: readonly string[], names: (model: string) => readonly string[]): OutputTensor[] {
  const reference = names(models[0]!);
  const layers = layerCount(reference);
  const sets = models.map((m) => new Set(names(m)));
  return reference.map((name) => {
    const missing = models.find((_, i) => !sets[i]!.has(name));
    if (missing !== undefined) throw new SliceError(`${missing} has no tensor "${name}" (${models[0]} has it): the models must share one architecture.`);
    return { name, t: tensorT(name, layers), slice: 0, inputs: models.map((model) => ({ model, tensor: name })) };
  });
}
