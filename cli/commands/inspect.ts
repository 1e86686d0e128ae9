/** `inspect FILE...`: tensors (name, dtype, shape), parameter count and format checks of checkpoints. */
import { parameterCount, readTensorCheckpointFiles } from '../../src/project/tensor-sets';
import type { CommandSpec, Parsed } from '../args';
import { UsageError } from '../args';
import { formatTable, readModelInput } from '../io';

export const inspectSpec: CommandSpec = {
  name: 'inspect',
  summary: 'Lists the tensors of ONNX or safetensors checkpoints and checks their format.',
  usage: 'inspect [--json] FILE...',
  help: '  --json                  machine-readable output',
  options: { json: { type: 'boolean' } },
};

function nonFinite(data: Float32Array): number {
  let count = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) count++;
  return count;
}

export async function inspect({ values, positionals }: Parsed): Promise<number> {
  if (positionals.length === 0) throw new UsageError('give at least one file to inspect.', 'inspect');
  const reports = positionals.map((file) => {
    const c = readTensorCheckpointFiles(readModelInput(file));
    const tensors = c.tensors.map((t) => ({ name: t.name, dtype: c.dtypes.get(t.name)!, shape: t.dims, parameters: t.data.length, nonFinite: nonFinite(t.data) }));
    const warnings = tensors.filter((t) => t.nonFinite > 0).map((t) => `tensor "${t.name}" has ${t.nonFinite} NaN or infinite values`);
    return {
      file,
      format: c.format,
      parameters: parameterCount(c),
      tensors,
      skipped: c.skipped,
      graph: c.model ? { opset: c.model.opsetVersion, inputs: c.model.inputs.map((i) => ({ name: i.name, dims: i.dims })), outputs: c.model.outputs.map((o) => ({ name: o.name, dims: o.dims })), nodes: c.model.nodes.length } : null,
      metadata: c.metadata,
      checks: { parsed: true, warnings },
    };
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
    return 0;
  }
  for (const r of reports) {
    process.stdout.write(`${r.file}: ${r.format}, ${r.tensors.length} float tensors, ${r.parameters.toLocaleString('en-US')} parameters\n`);
    if (r.graph) process.stdout.write(`  graph: opset ${r.graph.opset}, ${r.graph.nodes} nodes, inputs ${r.graph.inputs.map((i) => `${i.name}[${i.dims.join(',')}]`).join(' ')}, outputs ${r.graph.outputs.map((o) => `${o.name}[${o.dims.join(',')}]`).join(' ')}\n`);
    process.stdout.write(`${formatTable([['tensor', 'dtype', 'shape', 'parameters'], ...r.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, t.parameters])]).replace(/^/gm, '  ')}\n`);
    if (r.skipped.length > 0) process.stdout.write(`  not floats, never merged: ${r.skipped.map((s) => `${s.name} (${s.dtype})`).join(', ')}\n`);
    process.stdout.write(r.checks.warnings.length === 0 ? '  format checks: ok\n' : r.checks.warnings.map((w) => `  warning: ${w}\n`).join(''));
  }
  return 0;
}
