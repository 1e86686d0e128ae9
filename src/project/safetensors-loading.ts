/**
 * Turns dropped safetensors checkpoints into checkpoints the engine runs: each one's
 * tensors, mapped onto the ONNX graph of the architecture (graph-mapping.ts), become that
 * graph's initializers. The graph is the one ONNX file loaded with them; its own weights
 * only serve to find renamed tensors by value, so it leaves the population. Pure module.
 */
import { readOnnx, type OnnxModel } from '../formats/onnx-read';
import { replaceInitializerData } from '../formats/onnx-rewrite';
import { graphValues, keptCheckpoint, mapToGraph, type GraphMapping, type KeptCheckpoint, type SourceCheckpoint } from './graph-mapping';
import { onnxFloatTensors } from '../merge/layout';
import { fileSize, groupSafetensors, readSafetensorsCheckpoint } from './safetensors-checkpoints';
import { nonFiniteCount } from './tensor-sets';
import type { FileProblem, GraphSummary } from '../protocol/project';
import type { InputFile } from './input-files';

export interface GraphFile {
  name: string;
  bytes: Uint8Array;
  model: OnnxModel;
}

export interface ProjectGraph {
  graph: GraphFile;
  mapping: GraphMapping;
}

/** What a safetensors checkpoint adds to the engine's Checkpoint. */
export interface LoadedSafetensors {
  name: string;
  bytes: Uint8Array;
  model: OnnxModel;
  nonFinite: number;
  /** Its own tensors' names and shapes, and the values of those the graph does not hold. */
  source: KeptCheckpoint;
  /** The files it came from (index and shards), as dropped. */
  files: string[];
  fileBytes: number;
}

export interface SafetensorsLoad {
  /** The graph in use after this drop (null when none could be chosen). */
  project: ProjectGraph | null;
  checkpoints: LoadedSafetensors[];
  problems: FileProblem[];
}

function asBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** The graph holding a checkpoint's values: the graph file with its initializers replaced. */
function checkpointInGraph(project: ProjectGraph, source: SourceCheckpoint): { bytes: Uint8Array; model: OnnxModel } {
  const values = graphValues(project.mapping, source);
  const bytes = replaceInitializerData(project.graph.bytes, new Map([...values].map(([name, v]) => [name, asBytes(v)])), project.graph.name);
  return { bytes, model: readOnnx(bytes, source.name) };
}

/**
 * Loads the drop's safetensors checkpoints on `graph` (or on `candidate`, the one ONNX
 * checkpoint loaded, when the project has no graph yet). Each problem names its file.
 */
export function loadSafetensors(indexes: readonly InputFile[], shards: readonly InputFile[], project: ProjectGraph | null, candidates: readonly GraphFile[]): SafetensorsLoad {
  const { groups, problems } = groupSafetensors(indexes, shards);
  const result: SafetensorsLoad = { project, checkpoints: [], problems };
  if (groups.length === 0) return result;
  const firstFile = (g: (typeof groups)[number]) => (g.index ?? g.shards[0]!).name;
  const graph = project?.graph ?? (candidates.length === 1 ? candidates[0]! : null);
  if (!graph) {
    const why =
      candidates.length === 0
        ? 'safetensors checkpoints run on the ONNX graph of their architecture: drop one .onnx export of this model with them (its weights find the tensors the exporter renamed).'
        : `safetensors checkpoints run on one ONNX graph, but ${candidates.length} ONNX checkpoints are loaded (${candidates.map((c) => c.name).join(', ')}): remove all but the graph to use.`;
    for (const g of groups) problems.push({ fileName: firstFile(g), message: `${firstFile(g)}: ${why}` });
    return result;
  }
  const sources: { group: (typeof groups)[number]; source: SourceCheckpoint }[] = [];
  for (const group of groups) {
    try {
      sources.push({ group, source: readSafetensorsCheckpoint(group) });
    } catch (err) {
      problems.push({ fileName: firstFile(group), message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (sources.length === 0) return result;
  let current = project;
  if (!current) {
    const mapping = mapToGraph(graph.model, sources.map((s) => s.source));
    if (mapping.entries.length === 0) {
      for (const { group } of sources) problems.push({ fileName: firstFile(group), message: `${firstFile(group)}: no tensor matches an initializer of ${graph.name} by name or by value: is it the graph of this model?` });
      return result;
    }
    current = { graph, mapping };
  }
  for (const { group, source } of sources) {
    try {
      const { bytes, model } = checkpointInGraph(current, source);
      const files = [...(group.index ? [group.index] : []), ...group.shards];
      result.checkpoints.push({
        name: source.name,
        bytes,
        model,
        nonFinite: nonFiniteCount(onnxFloatTensors(model)),
        // The graph bytes now hold the mapped values: drop them from the checkpoint's own tensors.
        source: keptCheckpoint(current.mapping, source),
        files: files.map((f) => f.name),
        fileBytes: files.reduce((n, f) => n + fileSize(f), 0),
      });
    } catch (err) {
      problems.push({ fileName: firstFile(group), message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (result.checkpoints.length > 0) result.project = current;
  return result;
}

export function summarizeGraph(project: ProjectGraph): GraphSummary {
  const { graph, mapping } = project;
  return {
    file: graph.name,
    reference: mapping.reference,
    mapped: mapping.entries,
    unmappedInitializers: mapping.unmappedInitializers,
    unmappedTensors: mapping.unmappedTensors,
  };
}
