/**
 * The command line that makes a finished result again with the CLI, as the model card prints
 * it: every file the run read, under the names the studio knew them by (paths in the drop),
 * run from the folder they were dropped from. A search re-runs from its recipe (same seed,
 * same accepted offspring, same bytes); a one-shot merge is the `merge` command with the
 * method's parameters as flags.
 */
import { findMethod } from '../merge/registry';
import { DEFAULT_MERGE, type MergeParams } from '../protocol/settings';
import type { RunResult } from '../protocol/results';

export interface ReproduceInputs {
  report: RunResult;
  /** Each merged checkpoint's files, in population order (a sharded checkpoint: its index and shards). */
  checkpoints: readonly (readonly string[])[];
  base: readonly string[] | null;
  /** The ONNX graph safetensors checkpoints ran on. */
  graph: string | null;
  dev: string;
  tokenizer: string | null;
  /** A held-out file of its own; null when held-out rows were split from dev (the CLI splits the same way). */
  heldout: string | null;
  recipe: string;
  out: string;
}

/**
 * A checkpoint as the CLI takes it: an ONNX model by its .onnx file (its external data is
 * found beside it), one file by its name, several (shards and their index) by their folder.
 */
function checkpointArgument(files: readonly string[]): string {
  const onnx = files.find((f) => /\.onnx$/i.test(f));
  if (onnx) return onnx;
  if (files.length === 1) return files[0]!;
  const folder = files[0]!.includes('/') ? files[0]!.slice(0, files[0]!.lastIndexOf('/')) : '.';
  return folder;
}

/** A shell word: quoted when it holds anything but plain path characters. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The merge command's flags for the method's declared parameters and options, as the recipe holds them. */
function mergeFlags(params: MergeParams): string[] {
  const method = findMethod(params.method);
  if (!method) return ['--method', params.method];
  const flags = ['--method', method.id];
  for (const spec of method.params) flags.push(`--${spec.key}`, String(params[spec.key] ?? DEFAULT_MERGE[spec.key] ?? spec.default));
  for (const spec of method.options ?? []) {
    const value = (params as unknown as Record<string, unknown>)[spec.key];
    if (value !== undefined) flags.push(`--${spec.key}`, String(value));
  }
  if (params.weights) flags.push('--weights', params.weights.join(','));
  return flags;
}

/**
 * Whether the studio's one-shot merge read the base: as a base (a method that needs one), or as
 * one of the models (SLERP of the base and one expert). Otherwise a ticked base was only the
 * reference of task vectors, and `merge --base` would add it where the studio did not (linear).
 */
function mergeReadsBase(params: MergeParams, models: number): boolean {
  const method = findMethod(params.method);
  if (!method) return false;
  return method.needs.base === true || (method.baseAsModel !== undefined && method.needs.models === models + 1);
}

/** The words of the command (without the leading `npx evolver-studio`). */
export function reproduceArguments(inputs: ReproduceInputs): string[] {
  const { report } = inputs;
  const baseArgument = inputs.base ? checkpointArgument(inputs.base) : null;
  // A base the merge read as one of its models is given once, as the base.
  const models = inputs.checkpoints.map(checkpointArgument).filter((m) => m !== baseArgument);
  const base = baseArgument ? ['--base', baseArgument] : [];
  // merge works on the tensors alone: it needs no graph and no data. The card names the F32
  // export; merge would otherwise write each tensor in its input dtype.
  if (report.strategy === 'merge') {
    const readsBase = mergeReadsBase(report.settings.merger, models.length);
    return ['merge', ...mergeFlags(report.settings.merger), ...(readsBase ? base : []), '--dtype', 'F32', '--out', inputs.out, ...models];
  }
  const common = [...base, ...(inputs.graph ? ['--graph', inputs.graph] : [])];
  return [
    'evolve',
    ...common,
    '--dev',
    inputs.dev,
    ...(inputs.tokenizer ? ['--tokenizer', inputs.tokenizer] : []),
    ...(inputs.heldout ? ['--heldout', inputs.heldout] : []),
    '--recipe',
    inputs.recipe,
    '--out',
    inputs.out,
    ...models,
  ];
}

export function reproduceCommand(inputs: ReproduceInputs): string {
  return ['npx', 'evolver-studio', ...reproduceArguments(inputs)].map(shellWord).join(' ');
}

/** Per-tensor rules cannot be given as merge flags: the card says so beside the command. */
export function rulesNote(report: RunResult): string | null {
  const rules = report.settings.merger.rules;
  if (report.strategy !== 'merge' || !rules || Object.keys(rules).length === 0) return null;
  return `The merge used per-tensor rules (${Object.keys(rules).join(', ')}), which the merge command's flags cannot give: they are in the recipe; drop it into the studio with the same checkpoints to apply them.`;
}
