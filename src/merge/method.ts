/**
 * What a merge method declares about itself: its id and names, its parameters (with the
 * ranges and help every front end shows), what it needs, how it prepares data-aware inputs,
 * and its per-tensor CPU merge and optional GPU merger. The registry (registry.ts) lists
 * the methods; the CPU merger, the GPU population, recipe checks, the studio's form and the
 * CLI all read these declarations instead of naming methods.
 * Types only, plus defineMethod; imports from rooms below merge.
 */
import type { OnnxModel } from '../formats/onnx-read';
import type { EncodedDataset } from '../eval/dataset';
import type { MergeParamKey, MergeParams } from '../protocol/settings';
import type { ParameterLayout } from './layout';

export type ParamType = 'number' | 'integer' | 'seed';

export interface ParamSpec {
  key: MergeParamKey;
  /** The studio's field label. */
  label: string;
  /** The name in results' descriptions ("density 0.5"); default label. */
  short?: string;
  help: string;
  type: ParamType;
  min: number;
  max: number;
  step: number;
  default: number;
  /** May vary per tensor through the rules (depth lists, name filters). */
  perTensor?: boolean;
}

/**
 * A switch or a choice of a method (mergekit's `normalize`, `rescale`, `consensus_method`,
 * `filter_wise`): stored in MergeParams under its key as a boolean or a string, its default
 * when absent. Kept apart from the numeric ParamSpec so numeric code reads numbers only.
 */
export type OptionSpec =
  | { key: string; label: string; help: string; type: 'boolean'; default: boolean }
  | { key: string; label: string; help: string; type: 'choice'; choices: readonly string[]; default: string };

export interface MethodNeeds {
  /** A checkpoint marked as the base (pre-trained) model. */
  base?: boolean;
  /** Exactly this many fine-tuned models. */
  models?: number;
  /** At least this many fine-tuned models. */
  minModels?: number;
  /** Dev data (activations or gradients) besides the weights: prepare() computes it. */
  devData?: boolean;
}

/** The least of a loaded checkpoint a data-aware method reads (the project's Checkpoint has it). */
export interface MergeCheckpoint {
  name: string;
  bytes: Uint8Array;
  model: OnnxModel;
}

export interface PrepareContext {
  /** The population's checkpoints, in population order (the base excluded). */
  checkpoints: readonly MergeCheckpoint[];
  layout: ParameterLayout;
  dev: EncodedDataset;
  onPhase(text: string): void;
}

/** One tensor of one merge on the CPU: views into the flat individuals, rules already applied. */
export interface TensorJob {
  name: string;
  /** First index of the tensor in the flat layout (RNG counter base). */
  offset: number;
  /** The tensor's shape (filter-wise methods read its last axis); absent: one flat vector. */
  dims?: readonly number[];
  params: MergeParams;
  models: Float32Array[];
  base: Float32Array | null;
  out: Float32Array;
}

/** One tensor of one merge on the GPU: one buffer per set. */
export interface GpuTensorJob {
  name: string;
  offset: number;
  size: number;
  params: MergeParams;
  models: GPUBuffer[];
  base: GPUBuffer | null;
  out: GPUBuffer;
}

export interface GpuMergeContext {
  device: GPUDevice;
  layout: ParameterLayout;
  /** Models per merge at most (the population's size). */
  modelCount: number;
  /** Floats of the largest tensor. */
  largest: number;
  /** What the method's gpuInputs returned (null for methods without one). */
  inputs: unknown;
  /** The merge's settings (rules unresolved). */
  params: MergeParams;
}

/**
 * A method's GPU merger for one population: either records each tensor into the caller's
 * encoder (one submission per merge), or runs all tensors itself (methods that read back
 * per-tensor reductions first, such as SLERP and model stock).
 */
export type GpuMerger =
  | { kind: 'encoder'; encode(encoder: GPUCommandEncoder, job: GpuTensorJob): void; destroy(): void }
  | { kind: 'batched'; mergeAll(jobs: readonly GpuTensorJob[]): Promise<void>; destroy(): void };

export interface MergeMethodDef<Inputs = unknown, GpuInputs = unknown> {
  /** mergekit's name where it has one. */
  id: string;
  label: string;
  /** Other names accepted everywhere (recipes, stored projects, CLI flags). */
  aliases: readonly string[];
  params: readonly ParamSpec[];
  needs: MethodNeeds;
  /** Takes per-model weights (mergekit's `weight`). */
  weighted?: boolean;
  /** Switches and choices (normalize, rescale, consensus_method, ...), besides the numeric params. */
  options?: readonly OptionSpec[];
  /**
   * Without needs.base, what a given base is (mergekit passes base_model to every method):
   * 'first' = the first model (SLERP's t = 0 side), 'last' = one more model (linear).
   * Absent: the method does not read a base.
   */
  baseAsModel?: 'first' | 'last';
  /** Accepts per-model densities (mergekit's per-model `density`). */
  perModelDensity?: boolean;
  /** Data-aware inputs from the checkpoints and the dev split, fixed for a run. */
  prepare?(ctx: PrepareContext): Promise<Inputs>;
  /** The GPU merger's form of the inputs, or null when this run must stay on the CPU. */
  gpuInputs?(inputs: Inputs, layout: ParameterLayout, params: MergeParams): GpuInputs | null;
  /** out ← merge of one tensor; inputs is what prepare returned (null without prepare). */
  cpu(job: TensorJob, inputs: Inputs | null): void;
  gpu?(ctx: GpuMergeContext & { inputs: GpuInputs | null }): GpuMerger;
}

/** A method entry with its input types checked here and erased for the registry's list. */
export function defineMethod<I, G>(def: MergeMethodDef<I, G>): MergeMethodDef {
  return def as unknown as MergeMethodDef;
}

/** The value of a declared switch or choice (its default when the stored params lack it or hold another type). */
export function optionValue(params: MergeParams, spec: Extract<OptionSpec, { type: 'boolean' }>): boolean;
export function optionValue(params: MergeParams, spec: Extract<OptionSpec, { type: 'choice' }>): string;
export function optionValue(params: MergeParams, spec: OptionSpec): boolean | string;
export function optionValue(params: MergeParams, spec: OptionSpec): boolean | string {
  const v = (params as unknown as Record<string, unknown>)[spec.key];
  if (spec.type === 'boolean') return typeof v === 'boolean' ? v : spec.default;
  return typeof v === 'string' && spec.choices.includes(v) ? v : spec.default;
}

/** The value of a declared numeric parameter (its default when the stored params lack it). */
export function paramValue(params: MergeParams, spec: ParamSpec): number {
  const v = (params as unknown as Record<string, unknown>)[spec.key];
  return typeof v === 'number' ? v : spec.default;
}
