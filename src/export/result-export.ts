/**
 * A finished run as files: safetensors (one file or sharded, F32/F16/BF16, under the
 * checkpoints' own tensor names when they came as safetensors), the merged ONNX model, the
 * recipe that re-runs it, a README.md model card, or all of them zipped. Everything is
 * built from the merged flat vector the engine reads back once, at export.
 */
import { replaceInitializerData } from '../formats/onnx-rewrite';
import { METADATA_KEY, SAFETENSORS_DTYPE_SIZE, formatShape, isDtype, shapeSize } from '../formats/safetensors-format';
import { encodeBFloat16, encodeFloat16 } from '../formats/safetensors-float';
import { writeSafetensors } from '../formats/safetensors-write';
import { exportMetadata } from './export-metadata';
import { reproduceCommand, rulesNote } from './reproduce-command';
import { hubModelId } from '../project/hub-id';
import { indexFileName, modelCard, planShards, shardedSafetensors, shardFileName, zipFiles } from './exports';
import { type ExportOptions } from '../protocol/files';
import { sourceTensors } from '../project/graph-mapping';
import { assembleTensors, onnxFloatTensors, type FloatTensor, type ParameterLayout } from '../merge/layout';
import type { Workspace } from '../project/workspace';
import type { RawTensor } from '../project/graph-mapping';
import type { SafetensorsWriteDtype } from '../protocol/files';
import type { ExportedFile } from '../protocol/files';
import type { RunResult } from '../protocol/results';
import { metricColumn, taskMetrics } from '../eval/tasks/metric-format';
import { primaryValue } from '../eval/tasks/registry';

export interface FinishedResult {
  report: RunResult;
  layout: ParameterLayout;
  /** The result's merged tensors, flat in layout order. */
  merged: Float32Array;
}

function stemOf(report: RunResult): string {
  if (report.strategy === 'evolver') return `evolved-seed${report.settings.seed}`;
  if (report.strategy === 'kinship_topk') return `topk-${report.settings.merger.method}`;
  if (report.strategy === 'cma_es') return `cma-${report.settings.merger.method}-seed${report.settings.seed}`;
  return `merged-${report.settings.merger.method}`;
}

/** The recipe object: the settings, the strategy, the base and the sources (what recipe.ts parses). */
function recipeOf(report: RunResult, base: string | null): Record<string, unknown> {
  // A CMA-ES result carries the recipe it found: the merger that makes it from the checkpoints alone (its mergekit YAML).
  return { ...report.settings, strategy: report.strategy, base, sources: report.individuals.map((m) => m.name), ...(report.recipe ? { resultMerger: report.recipe } : {}) };
}

/** dev_<metric> and heldout_<metric> for each of the task's metrics (held-out '' when there is none). */
function scoreMetadata(report: RunResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of taskMetrics(report.final.dev.task)) {
    out[`dev_${metricColumn(m)}`] = String(report.final.dev.metrics[m.key]);
    out[`heldout_${metricColumn(m)}`] = String(report.final.heldout?.metrics[m.key] ?? '');
  }
  return out;
}

function metadataOf(report: RunResult, base: string | null): Record<string, string> {
  const sources = report.individuals.map((m) => m.name);
  const metadata = exportMetadata({
    recipe: recipeOf(report, base),
    merger: report.mergerLabel,
    sources,
    path: report.path,
    extra: {
      seed: String(report.settings.seed),
      task: report.final.dev.task,
      ...scoreMetadata(report),
    },
  });
  // Top-k: which model came from which, so the result can be traced back to the checkpoints.
  if (report.lineage) {
    const { nodes } = report.lineage;
    metadata.lineage = JSON.stringify(nodes.map(({ name, parents, round, exploration, parentKinship, fitness }) => ({ name, parents: parents?.map((p) => nodes[p]!.name) ?? null, round, exploration, parentKinship, dev: primaryValue(fitness) })));
    metadata.lineage_result = nodes[report.lineage.result]!.name;
  }
  return metadata;
}

/** Under source names: the tensors that are not floats (I64 position ids, masks) as the base (or the first model) stores them. */
function rawTensors(workspace: Workspace, names: ExportOptions['names']): RawTensor[] {
  const first = workspace.population()[0]!;
  if (!sourceNamed(workspace, names) || !first.source) return [];
  return (workspace.base()?.source ?? first.source).raw ?? [];
}

/** Own names only when every member came as safetensors (all share the mapping). */
function sourceNamed(workspace: Workspace, names: ExportOptions['names']): boolean {
  return names === 'source' && workspace.project !== null && workspace.population().every((c) => c.source);
}

/** Every float tensor of the model with the merged ones in place, under graph or source names. */
function resultTensors(result: FinishedResult, workspace: Workspace, names: ExportOptions['names']): FloatTensor[] {
  const first = workspace.population()[0]!;
  const graphTensors = assembleTensors(onnxFloatTensors(first.model), result.layout, result.merged);
  if (sourceNamed(workspace, names) && first.source) {
    return sourceTensors(workspace.project!.mapping, first.source, new Map(graphTensors.map((t) => [t.name, t.data])));
  }
  return graphTensors;
}

function sharded(tensors: readonly FloatTensor[], options: ExportOptions): boolean {
  return options.shardBytes > 0 && tensors.reduce((n, t) => n + t.data.length * SAFETENSORS_DTYPE_SIZE[options.dtype], 0) > options.shardBytes;
}

function singleFileName(report: RunResult, options: ExportOptions): string {
  return `${stemOf(report)}${options.dtype === 'F32' ? '' : `-${options.dtype.toLowerCase()}`}.safetensors`;
}

function safetensorsFiles(result: FinishedResult, workspace: Workspace, options: ExportOptions): ExportedFile[] {
  const { report } = result;
  const tensors = resultTensors(result, workspace, options.names);
  const raw = rawTensors(workspace, options.names);
  const metadata = metadataOf(report, workspace.baseName);
  if (sharded(tensors, options)) return typedShardedSafetensors(tensors, raw, metadata, options.dtype, options.shardBytes);
  if (raw.length > 0) return [{ fileName: singleFileName(report, options), bytes: writeTypedSafetensors(typedTensors(tensors, raw, options.dtype), metadata) }];
  return [{ fileName: singleFileName(report, options), bytes: writeSafetensors(tensors.map((t) => ({ name: t.name, shape: t.dims, data: t.data })), metadata, options.dtype) }];
}

/** The names safetensorsFiles would write, without writing them (for the model card). */
function safetensorsNames(result: FinishedResult, workspace: Workspace, options: ExportOptions): string[] {
  const tensors = resultTensors(result, workspace, options.names);
  if (!sharded(tensors, options)) return [singleFileName(result.report, options)];
  const count = planShards(tensors, options.dtype, options.shardBytes).length;
  return [...Array.from({ length: count }, (_, i) => shardFileName('model', i, count)), indexFileName('model')];
}

/** The first member's graph with the merged values in its initializers: runs as it is in onnxruntime. */
function onnxFile(result: FinishedResult, workspace: Workspace): ExportedFile {
  const first = workspace.population()[0]!;
  const values = new Map(
    result.layout.slots.map((s) => {
      const slice = result.merged.slice(s.offset, s.offset + s.size);
      return [s.name, new Uint8Array(slice.buffer)] as const;
    }),
  );
  return { fileName: `${stemOf(result.report)}.onnx`, bytes: replaceInitializerData(first.bytes, values, first.name) };
}

function recipeFile(result: FinishedResult, workspace: Workspace): ExportedFile {
  const json = JSON.stringify(recipeOf(result.report, workspace.baseName), null, 2);
  return { fileName: `${stemOf(result.report)}.recipe.json`, bytes: new TextEncoder().encode(`${json}\n`) };
}

function modelCardFile(result: FinishedResult, workspace: Workspace, files: readonly string[], options: ExportOptions): ExportedFile {
  const snapshot = workspace.snapshot();
  const dataset = snapshot.dataset;
  const recipe = `${stemOf(result.report)}.recipe.json`;
  const filesOf = (name: string) => snapshot.checkpoints.find((c) => c.name === name)?.files ?? [name];
  const command = reproduceCommand({
    report: result.report,
    checkpoints: result.report.individuals.map((m) => filesOf(m.name)),
    base: workspace.baseName ? filesOf(workspace.baseName) : null,
    graph: snapshot.graph?.file ?? null,
    dev: dataset?.devFile ?? 'dev.jsonl',
    tokenizer: snapshot.tokenizer,
    heldout: dataset?.heldoutSource === 'file' ? dataset.heldoutFile : null,
    recipe,
    out: `${stemOf(result.report)}.safetensors`,
  });
  const text = modelCard({
    report: result.report,
    base: workspace.baseName,
    devFile: dataset?.devFile ?? 'dev set',
    heldoutFile: dataset?.heldoutFile ?? null,
    files,
    recipeFile: recipe,
    command,
    commandNote: rulesNote(result.report),
    baseModelId: hubModelId(options.baseModelId) ?? (workspace.baseName ? workspace.hubModelIdOf(workspace.baseName) : null),
  });
  return { fileName: 'README.md', bytes: new TextEncoder().encode(text) };
}

/** One file for the asked kind: several files (shards, or "zip") come zipped. */
export function exportResultFile(result: FinishedResult, workspace: Workspace, options: ExportOptions): ExportedFile {
  const stem = stemOf(result.report);
  switch (options.kind) {
    case 'safetensors': {
      const files = safetensorsFiles(result, workspace, options);
      return files.length === 1 ? files[0]! : { fileName: `${stem}-sharded.zip`, bytes: zipFiles(files) };
    }
    case 'onnx':
      return onnxFile(result, workspace);
    case 'recipe':
      return recipeFile(result, workspace);
    case 'model-card': {
      const names = [...safetensorsNames(result, workspace, options), `${stem}.onnx`, `${stem}.recipe.json`];
      return modelCardFile(result, workspace, names, options);
    }
    case 'zip': {
      const files = [...safetensorsFiles(result, workspace, options), onnxFile(result, workspace), recipeFile(result, workspace)];
      files.push(modelCardFile(result, workspace, files.map((f) => f.fileName), options));
      return { fileName: `${stem}.zip`, bytes: zipFiles(files) };
    }
  }
}

/** One tensor of a file with per-tensor dtypes: floats to encode, or stored bytes copied as they are. */
export type TypedTensor = { name: string; shape: number[]; dtype: 'F64' | 'F32' | 'F16' | 'BF16'; data: Float32Array } | { name: string; shape: number[]; dtype: string; bytes: Uint8Array };

function encodedBytes(t: TypedTensor): Uint8Array {
  if ('bytes' in t) return t.bytes;
  const encoded = t.dtype === 'F32' ? t.data : t.dtype === 'F64' ? Float64Array.from(t.data) : t.dtype === 'F16' ? encodeFloat16(t.data) : encodeBFloat16(t.data);
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/**
 * A safetensors file whose tensors keep their own dtypes (a merge written in its inputs'
 * dtypes, with the integer tensors it does not merge copied through, as mergekit does).
 */
export function writeTypedSafetensors(tensors: readonly TypedTensor[], metadata: Record<string, string>): Uint8Array {
  const parts: string[] = [`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`];
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (!isDtype(t.dtype)) throw new Error(`tensor "${t.name}": unknown safetensors dtype ${t.dtype}`);
    const bytes = encodedBytes(t);
    if (bytes.length !== shapeSize(t.shape) * SAFETENSORS_DTYPE_SIZE[t.dtype]) throw new Error(`tensor "${t.name}": ${bytes.length} bytes do not fit ${t.dtype} ${formatShape(t.shape)}`);
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":${formatShape(t.shape)},"data_offsets":[${offset},${offset + bytes.length}]}`);
    blobs.push(bytes);
    offset += bytes.length;
  }
  const header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil((8 + header.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setUint32(0, headerLen, true);
  out.set(header, 8);
  out.fill(0x20, 8 + header.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const b of blobs) {
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/** Float tensors written in `dtype`, then the stored ones as they are. */
export function typedTensors(floats: readonly FloatTensor[], raw: readonly RawTensor[], dtype: SafetensorsWriteDtype): TypedTensor[] {
  return [...floats.map((t) => ({ name: t.name, shape: t.dims, dtype, data: t.data })), ...raw.map((r) => ({ name: r.name, shape: r.dims, dtype: r.dtype, bytes: r.bytes }))];
}

/**
 * Sharded safetensors with an index (exports.ts shardedSafetensors), the stored tensors that
 * are not floats (integer ids, masks) in the last shard; without any, exactly shardedSafetensors.
 */
export function typedShardedSafetensors(floats: readonly FloatTensor[], raw: readonly RawTensor[], metadata: Record<string, string>, dtype: SafetensorsWriteDtype, maxShardBytes: number, stem = 'model'): ExportedFile[] {
  if (raw.length === 0) return shardedSafetensors(floats, metadata, dtype, maxShardBytes, stem);
  const shards = planShards(floats, dtype, maxShardBytes);
  if (shards.length === 0) shards.push([]);
  const weightMap: Record<string, string> = {};
  const files = shards.map((shard, i) => {
    const fileName = shardFileName(stem, i, shards.length);
    const stored = i === shards.length - 1 ? raw : [];
    for (const t of [...shard, ...stored]) weightMap[t.name] = fileName;
    return { fileName, bytes: writeTypedSafetensors(typedTensors(shard, stored, dtype), metadata) };
  });
  const totalSize = floats.reduce((n, t) => n + t.data.length * SAFETENSORS_DTYPE_SIZE[dtype], 0) + raw.reduce((n, r) => n + r.bytes.length, 0);
  const index = { metadata: { total_size: totalSize, ...metadata }, weight_map: weightMap };
  files.push({ fileName: indexFileName(stem), bytes: new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`) });
  return files;
}
