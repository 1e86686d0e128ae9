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
import { encodeRowsForModel, modelTask } from '../../src/project/dataset-splits';
import { formatMetric, metricHeader, taskMetrics } from '../../src/eval/tasks/metric-format';
import type { CommandSpec, Parsed } from '../args';
import { requireOption, stringOption, UsageError } from '../args';
import { formatTable, InputError, readInput } from '../io';

export const evalSpec: CommandSpec = {
  name: 'eval',
  summary: "Scores one checkpoint on a dev set: its task's metrics, overall and per domain.",
  usage: 'eval --dev DEV.jsonl [--tokenizer tokenizer.json] [--graph G.onnx] [--json] MODEL',
  help: [
    '  --dev FILE              JSONL rows {"text" | "input_ids", "label"[, "domain"]}',
    '  --tokenizer FILE        tokenizer.json, for text rows',
    '  --graph FILE            the ONNX graph a safetensors MODEL fills (required for safetensors)',
    '  --json                  machine-readable output',
  ].join('\n'),
  options: { dev: { type: 'string' }, tokenizer: { type: 'string' }, graph: { type: 'string' }, json: { type: 'boolean' } },
};

export async function evaluate({ values, positionals }: Parsed): Promise<number> {
  if (positionals.length !== 1) throw new UsageError(`give exactly one MODEL to evaluate (got ${positionals.length}).`, 'eval');
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
  const dataset = encodeRowsForModel(parseJsonlBytes(devFile.bytes, devFile.name), devFile.name, modelTask(model, graph.name), tokenizer);
  const scores = await scoreWeights(graph.bytes, graph.name, checkpoint.tensors.map((t) => ({ name: t.name, data: t.data })), dataset);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ model: modelFile.name, graph: graph.name, dev: devFile.name, tensorsFromGraph: fromGraph, ...scores }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${modelFile.name} on ${devFile.name} (${scores.size} rows${graphPath ? `, graph ${graph.name}` : ''}${fromGraph > 0 ? `, ${fromGraph} tensors from the graph` : ''})\n`);
  const metrics = taskMetrics(scores.task);
  const header = ['rows', ...metrics.map((m) => metricHeader('', { ...m, short: m.label }, true)), 'size'];
  process.stdout.write(`${formatTable([header, ...scores.byDomain.map((d) => [d.domain, ...metrics.map((m) => formatMetric(m, d.metrics[m.key], 2, false)), d.size])])}\n`);
  return 0;
}
