/**
 * mergekit's YAML merge configurations (mergekit/config.py's MergeConfiguration), read as
 * they are: `models` (each `model` with its own `parameters`) or `slices` (`sources` with
 * `layer_range`), `base_model`, `merge_method`, top-level `parameters`, `dtype`, `out_dtype`
 * and `tokenizer_source`. Methods are the registry's (merge/registry.ts, mergekit's names)
 * plus `passthrough` (layer stacking, planned by slices.ts: no per-tensor merge). Every key is
 * checked: an unknown one is named with the keys allowed there; a mergekit feature this
 * project lacks says "not supported yet". Pure module: YAML text in, a plan out.
 */
import { parse as parseYaml } from 'yaml';
import { findMethod } from './registry';
import type { MergeMethodDef } from './method';
import { MergekitConfigError, parseParameters, type MergekitParameters } from './mergekit-settings';
import type { Slice } from './slices';
import type { SafetensorsWriteDtype } from '../protocol/files';

export { MergekitConfigError } from './mergekit-settings';

/** mergekit's method names this project does not merge with (yet). */
export const MERGEKIT_ONLY = [
  'della',
  'della_linear',
  'nuslerp',
  'multislerp',
  'sce',
  'karcher',
  'arcee_fusion',
  'nearswap',
  'ranked_ties',
  'core_space',
  'cabs',
  'ram',
  'zipit',
  'task_adapter',
];

/** Parameters mergekit reads per model (tensor_parameters); the others are the merge's own. */
export const PER_MODEL_PARAMS = ['weight', 'density', 'gamma', 'epsilon'] as const;

/** mergekit's defaults of the method flags, which this project's kernels fix. */
const FLAG_DEFAULTS: Record<string, Record<string, boolean>> = {
  linear: { normalize: true },
  task_arithmetic: { normalize: false, rescale: false },
  ties: { normalize: true, rescale: false },
  dare_ties: { normalize: false, rescale: true },
  dare_linear: { normalize: false, rescale: true },
  breadcrumbs: { normalize: false, rescale: false },
  breadcrumbs_ties: { normalize: false, rescale: false },
  della: { normalize: true, rescale: true },
  della_linear: { normalize: false, rescale: true },
};
/** Flags that change memory use only, never values. */
const HARMLESS_FLAGS = ['int8_mask'];

const TOP_KEYS = ['merge_method', 'models', 'slices', 'base_model', 'parameters', 'dtype', 'out_dtype', 'tokenizer_source'];
const NOT_YET_KEYS: Record<string, string> = {
  modules: 'multi-module merges ("modules")',
  tokenizer: 'the "tokenizer" section (added tokens, embedding permutation); tokenizer_source: base copies the base model\'s tokenizer',
  chat_template: 'chat_template',
};

export type MergekitMethod = { kind: 'passthrough' } | { kind: 'registry'; method: MergeMethodDef };

export interface MergekitConfig {
  fileName: string;
  /** The YAML as given (written beside the output as mergekit_config.yml). */
  text: string;
  /** mergekit's method name as the config gives it. */
  methodName: string;
  method: MergekitMethod;
  base: string | null;
  /** The `models:` form, or null when the config gives slices. */
  models: { model: string; parameters: MergekitParameters }[] | null;
  /** The slices: given, or the `models:` form as one slice over every layer (layerRange [0, -1]: all). */
  slices: Slice[];
  parameters: MergekitParameters;
  /** The computation dtype and the output's (out_dtype, else dtype); null: the inputs'. */
  dtype: SafetensorsWriteDtype | null;
  outDtype: SafetensorsWriteDtype | null;
  /** null: mergekit's default (the base's, else the first model's tokenizer); 'base'; or a model reference. */
  tokenizerSource: string | null;
}

const DTYPES: Record<string, SafetensorsWriteDtype> = {
  float32: 'F32',
  fp32: 'F32',
  float: 'F32',
  f32: 'F32',
  float16: 'F16',
  fp16: 'F16',
  half: 'F16',
  f16: 'F16',
  bfloat16: 'BF16',
  bf16: 'BF16',
};

/** A mergekit dtype name (float16, bfloat16, float32…) as the writer's, or null for none. */
export function mergekitDtype(raw: unknown, key: string, file: string): SafetensorsWriteDtype | null {
  if (raw === undefined || raw === null) return null;
  const d = typeof raw === 'string' ? DTYPES[raw.toLowerCase().replace(/^torch\./, '')] : undefined;
  if (!d) throw new MergekitConfigError(file, `${key}: unsupported dtype ${JSON.stringify(raw)} (allowed: float32, float16, bfloat16).`);
  return d;
}

/** The writer's dtype as mergekit names it. */
export function dtypeName(dtype: SafetensorsWriteDtype): string {
  return dtype === 'F16' ? 'float16' : dtype === 'BF16' ? 'bfloat16' : 'float32';
}

/** The method a merge_method names: the registry's, passthrough, or an error saying which are known. */
export function mergekitMethod(name: unknown, file: string): MergekitMethod {
  if (typeof name !== 'string' || name === '') throw new MergekitConfigError(file, 'merge_method is required (e.g. linear, ties, slerp, passthrough).');
  if (name === 'passthrough') return { kind: 'passthrough' };
  const method = findMethod(name);
  if (method) return { kind: 'registry', method };
  if (MERGEKIT_ONLY.includes(name)) throw new MergekitConfigError(file, `merge_method "${name}" is not supported yet (mergekit has it; this project does not).`);
  throw new MergekitConfigError(file, `unknown merge_method "${name}".`);
}

/** The parameter names a method takes in a config (mergekit's names). */
export function allowedParameters(method: MergekitMethod): string[] {
  if (method.kind === 'passthrough') return ['scale'];
  const m = method.method;
  const keys = m.params.map((p) => p.key as string);
  const flags = m.options ? m.options.map((o) => o.key) : FLAG_DEFAULTS[m.id] ? [...Object.keys(FLAG_DEFAULTS[m.id]!), ...HARMLESS_FLAGS] : [];
  return [...new Set([...(m.weighted ? ['weight'] : []), ...keys, ...flags])];
}

function modelRef(raw: unknown, where: string, file: string): string {
  // mergekit also accepts "repo+lora" and {model: {path, revision}} forms: only plain references here.
  if (typeof raw === 'string' && raw.trim() !== '') {
    if (raw.includes('+')) throw new MergekitConfigError(file, `${where}: "${raw}": a model with a LoRA ("model+lora") is not supported yet.`);
    return raw.trim();
  }
  throw new MergekitConfigError(file, `${where}: expected a model reference (a local folder or file), got ${JSON.stringify(raw)}.`);
}

function objectAt(raw: unknown, where: string, file: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MergekitConfigError(file, `${where}: expected a map, got ${JSON.stringify(raw)}.`);
  for (const key of Object.keys(raw)) if (!allowed.includes(key)) throw new MergekitConfigError(file, `${where}: unknown key "${key}" (allowed: ${allowed.join(', ')}).`);
  return raw as Record<string, unknown>;
}

function listAt(raw: unknown, where: string, file: string): unknown[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new MergekitConfigError(file, `${where}: expected a non-empty list, got ${JSON.stringify(raw)}.`);
  return raw;
}

/** Checks switches and choices (normalize, rescale, consensus_method…): the method's declared options, else mergekit's defaults. */
function checkFlags(method: MergekitMethod, levels: [string, MergekitParameters][], file: string): void {
  if (method.kind !== 'registry') return;
  const m = method.method;
  const defaults = FLAG_DEFAULTS[m.id] ?? {};
  for (const [where, params] of levels) {
    for (const [key, value] of Object.entries(params)) {
      const option = m.options?.find((o) => o.key === key);
      if (option) {
        const ok = option.type === 'boolean' ? typeof value === 'boolean' : typeof value === 'string' && option.choices.includes(value);
        if (!ok) throw new MergekitConfigError(file, `${where}.${key}: expected ${option.type === 'boolean' ? 'true or false' : `one of ${option.choices.join(', ')}`}, got ${JSON.stringify(value)}.`);
        continue;
      }
      if (!m.options && HARMLESS_FLAGS.includes(key)) {
        if (typeof value !== 'boolean') throw new MergekitConfigError(file, `${where}.${key}: expected true or false, got ${JSON.stringify(value)}.`);
        continue;
      }
      if (!m.options && key in defaults) {
        if (typeof value !== 'boolean') throw new MergekitConfigError(file, `${where}.${key}: expected true or false, got ${JSON.stringify(value)}.`);
        if (value !== defaults[key]) throw new MergekitConfigError(file, `${where}.${key}: ${value} is not supported yet for ${m.id} (this project's ${m.label} always runs with ${key}: ${defaults[key]}, mergekit's default).`);
        continue;
      }
      if (typeof value === 'boolean' || typeof value === 'string') throw new MergekitConfigError(file, `${where}.${key}: expected a number, a gradient or {filter, value} entries, got ${JSON.stringify(value)}.`);
    }
  }
}

/** Parses and checks a mergekit YAML config; every problem is a MergekitConfigError naming the file and key. */
export function parseMergekitConfig(text: string, fileName: string): MergekitConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new MergekitConfigError(fileName, `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new MergekitConfigError(fileName, 'a mergekit config is a YAML map with merge_method and models or slices.');
  const raw = doc as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key in NOT_YET_KEYS) throw new MergekitConfigError(fileName, `${NOT_YET_KEYS[key]} is not supported yet.`);
    if (!TOP_KEYS.includes(key)) throw new MergekitConfigError(fileName, `unknown key "${key}" (allowed: ${TOP_KEYS.join(', ')}).`);
  }
  const method = mergekitMethod(raw.merge_method, fileName);
  const allowed = allowedParameters(method);
  const base = raw.base_model === undefined || raw.base_model === null ? null : modelRef(raw.base_model, 'base_model', fileName);
  const parameters = parseParameters(raw.parameters, 'parameters', fileName, allowed);
  if ((raw.models === undefined || raw.models === null) === (raw.slices === undefined || raw.slices === null)) {
    throw new MergekitConfigError(fileName, 'give exactly one of "models" or "slices".');
  }
  let models: MergekitConfig['models'] = null;
  let slices: Slice[];
  if (raw.models !== undefined && raw.models !== null) {
    models = listAt(raw.models, 'models', fileName).map((entry, i) => {
      const where = `models[${i}]`;
      const e = typeof entry === 'string' ? { model: entry } : objectAt(entry, where, fileName, ['model', 'parameters']);
      return { model: modelRef(e.model, `${where}.model`, fileName), parameters: parseParameters(e.parameters, `${where}.parameters`, fileName, allowed) };
    });
    const sources = models.map((m) => ({ model: m.model, layerRange: [0, -1] as [number, number], parameters: m.parameters }));
    // As mergekit does: a base not among the models joins the merge (without parameters).
    if (base && !models.some((m) => m.model === base)) sources.push({ model: base, layerRange: [0, -1], parameters: {} });
    slices = [{ sources, parameters: {} }];
  } else {
    slices = listAt(raw.slices, 'slices', fileName).map((entry, s) => {
      const where = `slices[${s}]`;
      const e = objectAt(entry, where, fileName, ['sources', 'parameters', 'base_model', 'residual_weight']);
      if (e.residual_weight !== undefined) throw new MergekitConfigError(fileName, `${where}.residual_weight is not supported yet.`);
      if (e.base_model !== undefined && e.base_model !== base) throw new MergekitConfigError(fileName, `${where}.base_model: a base per slice is not supported yet (give base_model at the top level).`);
      const sources = listAt(e.sources, `${where}.sources`, fileName).map((src, k) => {
        const at = `${where}.sources[${k}]`;
        const o = objectAt(src, at, fileName, ['model', 'layer_range', 'parameters']);
        const range = o.layer_range;
        if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => Number.isInteger(v) && (v as number) >= 0) || range[1] <= range[0]) {
          throw new MergekitConfigError(fileName, `${at}.layer_range: expected [first, end) with 0 ≤ first < end, got ${JSON.stringify(range)}.`);
        }
        return { model: modelRef(o.model, `${at}.model`, fileName), layerRange: [range[0], range[1]] as [number, number], parameters: parseParameters(o.parameters, `${at}.parameters`, fileName, allowed) };
      });
      return { sources, parameters: parseParameters(e.parameters, `${where}.parameters`, fileName, allowed) };
    });
  }
  const levels: [string, MergekitParameters][] = [['parameters', parameters]];
  if (models) models.forEach((m, i) => levels.push([`models[${i}].parameters`, m.parameters]));
  else slices.forEach((s, i) => levels.push([`slices[${i}].parameters`, s.parameters], ...s.sources.map((src, k): [string, MergekitParameters] => [`slices[${i}].sources[${k}].parameters`, src.parameters])));
  checkFlags(method, levels, fileName);
  checkShape(method, base, slices, fileName);
  const dtype = mergekitDtype(raw.dtype, 'dtype', fileName);
  const outDtype = mergekitDtype(raw.out_dtype, 'out_dtype', fileName) ?? dtype;
  let tokenizerSource: string | null = null;
  if (raw.tokenizer_source !== undefined && raw.tokenizer_source !== null) {
    if (raw.tokenizer_source === 'union') throw new MergekitConfigError(fileName, 'tokenizer_source: union is not supported yet (it builds a joint vocabulary and permutes the embeddings); use base or a model.');
    tokenizerSource = raw.tokenizer_source === 'base' ? 'base' : modelRef(raw.tokenizer_source, 'tokenizer_source', fileName);
    if (tokenizerSource === 'base' && !base) throw new MergekitConfigError(fileName, 'tokenizer_source: base needs a base_model.');
  }
  return { fileName, text, methodName: raw.merge_method as string, method, base, models, slices, parameters, dtype, outDtype, tokenizerSource };
}

/** What the method needs of the models, checked on the config alone (the weights come later). */
function checkShape(method: MergekitMethod, base: string | null, slices: readonly Slice[], file: string): void {
  if (method.kind === 'passthrough') {
    const many = slices.findIndex((s) => s.sources.length !== 1);
    if (many >= 0 && !(slices.length === 1 && slices[0]!.sources.length === 1)) {
      throw new MergekitConfigError(file, `passthrough copies layers: slice ${many + 1} has ${slices[many]!.sources.length} sources, give one per slice.`);
    }
    return;
  }
  const m = method.method;
  if (m.needs.devData || m.prepare) throw new MergekitConfigError(file, `merge_method "${m.id}" needs dev data (its statistics come from activations or gradients): run it with \`merge --method ${m.id} --dev …\`, not from a mergekit config.`);
  const firstIsBase = m.baseAsModel === 'first' || (m.id === 'slerp' && m.baseAsModel === undefined);
  const needsBase = m.needs.base || firstIsBase;
  for (const [s, slice] of slices.entries()) {
    if (needsBase && !base) throw new MergekitConfigError(file, `${m.id} needs a base_model.`);
    if (needsBase && !slice.sources.some((src) => src.model === base)) throw new MergekitConfigError(file, `slice ${s + 1}: the base_model ${base} must be one of its sources.`);
    const merged = mergeOrder(m, slice, base).models.length;
    if (m.needs.models !== undefined && merged !== m.needs.models) throw new MergekitConfigError(file, `${m.id} merges exactly ${m.needs.models} models${firstIsBase ? ' (the base_model and one other)' : ''}; slice ${s + 1} gives ${merged}.`);
    if (m.needs.minModels !== undefined && merged < m.needs.minModels) throw new MergekitConfigError(file, `${m.id} needs at least ${m.needs.minModels} models besides the base; slice ${s + 1} has ${merged}.`);
  }
}

/**
 * Which of a slice's sources are the merge's models (in order) and which its base: the base
 * apart for methods that need one; else where the method takes a given base (SLERP's t = 0
 * side first, linear's one more model last); else left out.
 */
export function mergeOrder(m: MergeMethodDef, slice: Slice, base: string | null): { models: number[]; base: number | null } {
  const indices = slice.sources.map((_, i) => i);
  const b = base === null ? -1 : slice.sources.findIndex((src) => src.model === base);
  if (b < 0) return { models: indices, base: null };
  const others = indices.filter((i) => i !== b);
  if (m.needs.base) return { models: others, base: b };
  const placement = m.baseAsModel ?? (m.id === 'slerp' ? 'first' : undefined);
  if (placement === 'first') return { models: [b, ...others], base: null };
  if (placement === 'last') return { models: [...others, b], base: null };
  return { models: others, base: null };
}

/** Every model the config references (base first when given), each once. */
export function referencedModels(config: MergekitConfig): string[] {
  const refs = [...(config.base ? [config.base] : []), ...config.slices.flatMap((s) => s.sources.map((src) => src.model))];
  if (config.tokenizerSource && config.tokenizerSource !== 'base') refs.push(config.tokenizerSource);
  return [...new Set(refs)];
}

/** A model reference's short name (its last path component, without .safetensors): how dropped checkpoints are matched. */
export function modelStem(ref: string): string {
  const parts = ref.replace(/\\/g, '/').replace(/\/+$/, '').split('/');
  return (parts[parts.length - 1] ?? ref).replace(/\.(safetensors|onnx)$/i, '').replace(/\.safetensors\.index\.json$/i, '');
}
