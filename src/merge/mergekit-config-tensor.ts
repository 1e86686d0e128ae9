/**
 * One output tensor of a mergekit config as a call of the registry's per-tensor merge: which
 * of its inputs are the models and which the base, and the scalar parameters at that tensor
 * (mergekit's precedence: the source's parameters, the slice's, the top level's; then
 * mergekit's defaults). Per-model `weight` becomes the merge's weights; other per-model
 * parameters (density…) must agree across the models at a tensor, since the registry's
 * methods take one value for all. Pure module.
 */
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import { withMethod } from './registry';
import type { MergeMethodDef } from './method';
import { lookup, MergekitConfigError, type MergekitScalar } from './mergekit-settings';
import { mergeOrder, PER_MODEL_PARAMS, type MergekitConfig } from './mergekit-config';
import type { OutputTensor } from './slices';

/** mergekit's own defaults where they differ from the registry's (density: keep everything). */
export const MERGEKIT_DEFAULTS: Partial<Record<string, number>> = { density: 1 };

export interface TensorMerge {
  /** Indices into the output tensor's inputs: the models, in merge order. */
  models: number[];
  /** Index of the base among the inputs, or null. */
  base: number | null;
  params: MergeParams;
  /** passthrough's `scale` (1 elsewhere). */
  scale: number;
}

function numberAt(value: MergekitScalar | undefined, key: string, where: string, file: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new MergekitConfigError(file, `${where}: parameter ${key} must be a number, got ${JSON.stringify(value)}.`);
  return value;
}

/** The merge of one output tensor under the config. */
export function tensorMerge(config: MergekitConfig, out: OutputTensor): TensorMerge {
  const file = config.fileName;
  const slice = config.slices[out.slice]!;
  const where = `tensor ${out.name}`;
  const levels = (i: number) => [slice.sources[i]!.parameters, slice.parameters, config.parameters];
  if (config.method.kind === 'passthrough') {
    const scale = numberAt(lookup(levels(0), 'scale', out.inputs[0]!.tensor, out.t), 'scale', where, file) ?? 1;
    return { models: [0], base: null, params: DEFAULT_MERGE, scale };
  }
  const method: MergeMethodDef = config.method.method;
  const { models, base } = mergeOrder(method, slice, config.base);
  const params = withMethod(DEFAULT_MERGE, method.id) as MergeParams & Record<string, number>;
  delete params.rules;
  for (const spec of method.params) {
    let value: number | undefined;
    if ((PER_MODEL_PARAMS as readonly string[]).includes(spec.key)) {
      const values = models.map((i) => numberAt(lookup(levels(i), spec.key, out.inputs[i]!.tensor, out.t), spec.key, where, file));
      const given = values.filter((v): v is number => v !== undefined);
      const differ = given.length > 0 && (given.length !== values.length || !given.every((v) => v === given[0]));
      if (differ && spec.key === 'density' && method.perModelDensity) {
        const densities = values.map((v) => v ?? MERGEKIT_DEFAULTS.density ?? spec.default);
        for (const d of densities) if (d < spec.min || d > spec.max) throw new MergekitConfigError(file, `${where}: density ${d} is outside ${method.label}'s range [${spec.min}, ${spec.max}].`);
        (params as unknown as Record<string, unknown>).densities = densities;
      } else if (differ) {
        const listed = models.map((i, k) => `${values[k] ?? 'default'} for ${slice.sources[i]!.model}`).join(', ');
        throw new MergekitConfigError(file, `${where}: per-model ${spec.key} that differs between models (${listed}) is not supported yet: ${method.label} takes one ${spec.key} for all models.`);
      }
      value = given[0];
    } else {
      value = numberAt(lookup([slice.parameters, config.parameters], spec.key, out.name, out.t), spec.key, where, file);
    }
    if (value === undefined && method.id === 'slerp' && spec.key === 't') throw new MergekitConfigError(file, `${where}: slerp needs parameter t (none of the config's entries gives one for this tensor).`);
    value ??= MERGEKIT_DEFAULTS[spec.key] ?? spec.default;
    if (value < spec.min || value > spec.max || (spec.type !== 'number' && !Number.isInteger(value))) {
      throw new MergekitConfigError(file, `${where}: ${spec.key} ${value} is outside ${method.label}'s range [${spec.min}, ${spec.max}].`);
    }
    params[spec.key] = value;
  }
  for (const option of method.options ?? []) {
    const value = lookup([slice.parameters, config.parameters], option.key, out.name, out.t);
    if (value !== undefined) (params as unknown as Record<string, unknown>)[option.key] = value;
  }
  if (method.weighted) {
    params.weights = models.map((i) => numberAt(lookup(levels(i), 'weight', out.inputs[i]!.tensor, out.t), 'weight', where, file) ?? 1);
  }
  return { models, base, params, scale: 1 };
}
