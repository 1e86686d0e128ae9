/**
 * `eval --dev DEV.jsonl MODEL`: the task's metrics (e.g. a classifier's) of one checkpoint on a dev set.
 * MODEL is an ONNX checkpoint, or a safetensors file with --graph G.onnx whose
 * initializers it fills by name (tensors of the graph it does not name keep the graph's
 * values, and are counted in the report).
 */
import { parseJsonlBytes } from '../../src/eval/dataset';
import { loadTokenizer } from '../../src/eval/tokenize';
import { scoreWeights } from '../../src/eval/score-checkpoint';
import { readOnnx } from '../../src/formats/onnx-read';
import { floatInitializers } from '../../src/merge/layout';
import { readTensorCheckpoint } from '../../src/project/tensor-sets';
import { encodeRowsForModel } from '../../src/project/dataset-splits';
import { formatMetric, metricHeader, taskMetrics } from '../../src/eval/tasks/metric-format';
import type { CommandSpec, Parsed } from '../args';
import { choiceOption, requireOption, stringOption, UsageError } from '../args';
import { formatTable, InputError, readInput } from '../io';
import { applyRuntimeOptions, runtimeHelp, runtimeOptions } from '../runtime-options';
import { labelsFromOptions, taskFromOptions, taskHelp, taskOptions } from '../task-option';

export const evalSpec: CommandSpec = {
  name: 'eval',
  summary: "Scores one checkpoint on a dev set: its task's metrics, overall and per domain.",
  usage: 'eval --dev DEV.jsonl [--tokenizer tokenizer.json] [--graph G.onnx] [--device cpu|gpu] [--threads N] [--task ID] [--labels FILE] [--json] MODEL',
  help: [
    '  --dev FILE              JSONL rows {"text" | "input_ids", "label"[, "domain"]} (a causal LM: no label; multiple choice: "context", "choices", "label"; tagging: "tokens", "tags")',
    ...taskHelp,
    '  --tokenizer FILE        tokenizer.json, for text rows',
    '  --graph FILE            the ONNX graph a safetensors MODEL fills (required for safetensors)',
    "  --device cpu|gpu        gpu: onnxruntime-node's CUDA execution provider, where installed (docs/gpu.md; default cpu)",
    ...runtimeHelp,
    '  --json                  machine-readable output',
  ].join('\n'),
  options: { dev: { type: 'string' }, tokenizer: { type: 'string' }, graph: { type: 'string' }, device: { type: 'string' }, ...runtimeOptions, ...taskOptions, json: { type: 'boolean' } },
};

export async function evaluate({ values, positionals }: Parsed): Promise<number> {
  if (positionals.length !== 1) throw new UsageError(`give exactly one MODEL to evaluate (got ${positionals.length}).`, 'eval');
  choiceOption(values, 'device', ['cpu', 'gpu'], 'cpu');
  const runtime = applyRuntimeOptions(values, { gpuEvaluation: true, command: 'eval' });
  const modelFile = readInput(positionals[0]!);
  const checkpoint = readTensorCheckpoint(modelFile);
  const graphPath = stringOption(values, 'graph');
  if (checkpoint.format === 'safetensors' && !graphPath) throw new UsageError(`${modelFile.name} is safetensors: give the ONNX graph it fills with --graph.`, 'eval');
  const graph = graphPath ? readInput(graphPath) : modelFile;
  const model = checkpoint.model ?? readOnnx(graph.bytes, graph.name);
  const graphFloats = new Map(floatInitializers(model).map((i) => [i.name, i]));
  for (const t of checkpoint.tensors) {
    const init = graphFloats.get(t.name);
    if (!init) throw new InputError(`${modelFile.name}: tensor "${t.name}" is not a float initializer of ${graph.name}.`);
    if (init.dims.join(',') !== t.dims.join(',')) throw new InputError(`${modelFile.name}: tensor "${t.name}" has shape [${t.dims.join(', ')}], ${graph.name} has [${init.dims.join(', ')}].`);
  }
  const fromGraph = graphFloats.size - checkpoint.tensors.length;

  const devFile = readInput(requireOption(values, 'dev'));
  const tokenizerPath = stringOption(values, 'tokenizer');
  const tokenizer = tokenizerPath ? loadTokenizer(new TextDecoder().decode(readInput(tokenizerPath).bytes), tokenizerPath) : undefined;
  const rows = parseJsonlBytes(devFile.bytes, devFile.name);
  const task = taskFromOptions(values, model, rows, graph.name, 'eval');
  const dataset = encodeRowsForModel(rows, devFile.name, { task, shape: task.modelShape(model, graph.name) }, tokenizer, labelsFromOptions(values));
  const scores = await scoreWeights(graph.bytes, graph.name, checkpoint.tensors.map((t) => ({ name: t.name, data: t.data })), dataset);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ model: modelFile.name, graph: graph.name, dev: devFile.name, runtime: runtime.description, tensorsFromGraph: fromGraph, ...scores }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${modelFile.name} on ${devFile.name} (${scores.size} rows${graphPath ? `, graph ${graph.name}` : ''}${fromGraph > 0 ? `, ${fromGraph} tensors from the graph` : ''}; ${runtime.description})\n`);
  const metrics = taskMetrics(scores.task);
  const header = ['rows', ...metrics.map((m) => metricHeader('', { ...m, short: m.label }, true)), 'size'];
  process.stdout.write(`${formatTable([header, ...scores.byDomain.map((d) => [d.domain, ...metrics.map((m) => formatMetric(m, d.metrics[m.key], 2, false)), d.size])])}\n`);
  return 0;
}
