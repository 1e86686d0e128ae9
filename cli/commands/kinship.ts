/** `kinship [--base FILE] MODEL...`: pairwise Pearson, cosine and Euclidean kinship of task vectors. */
import { KINSHIP_METRIC_LABELS, type KinshipMetricName, type KinshipReport } from '../../src/protocol/results';
import { kinshipReport } from '../../src/search/kinship';
import type { CommandSpec, Parsed } from '../args';
import { choiceOption, stringOption } from '../args';
import { DEVICE_CHOICES, describeDevice, openDevice } from '../device';
import { loadModels, populationOf } from '../checkpoints';
import { formatTable } from '../io';

export const kinshipSpec: CommandSpec = {
  name: 'kinship',
  summary: 'Model kinship (Hu et al. 2024): Pearson correlation, cosine similarity and Euclidean distance of task vectors, for every pair of models.',
  usage: 'kinship [--base FILE] [--layers] [--device cpu|gpu|auto] [--json] MODEL MODEL...',
  help: [
    '  --base FILE             task vectors are θ − θ_base (default: θ − mean of the models)',
    '  --layers                also print the matrices of every layer',
    '  --device cpu|gpu|auto   where the reductions run (default auto: a hardware WebGPU adapter, else CPU)',
    '  --json                  machine-readable output',
  ].join('\n'),
  options: { base: { type: 'string' }, layers: { type: 'boolean' }, device: { type: 'string' }, json: { type: 'boolean' } },
};

const METRICS: KinshipMetricName[] = ['pearson', 'cosine', 'euclidean'];

function matrixTable(report: KinshipReport, matrix: KinshipReport['overall'], metric: KinshipMetricName): string {
  const digits = (v: number) => (Number.isNaN(v) ? 'NaN' : metric === 'euclidean' ? v.toPrecision(6) : v.toFixed(6));
  return formatTable([['', ...report.names], ...report.names.map((name, i) => [name, ...matrix[i]!.map((m) => digits(m[metric]))])]);
}

export async function kinship({ values, positionals }: Parsed): Promise<number> {
  const loaded = loadModels(positionals, stringOption(values, 'base'), 2);
  const device = await openDevice(choiceOption(values, 'device', DEVICE_CHOICES, 'auto'));
  const store = populationOf(loaded, device);
  try {
    const names = loaded.models.map((m) => m.name);
    const moments = await store.kinshipMoments(names.map((_, i) => i), loaded.base ? 'base' : 'initial-mean');
    const reference = loaded.base
      ? { kind: 'base' as const, label: `task vectors from ${loaded.base.name}` }
      : { kind: 'population-mean' as const, label: 'task vectors from the mean of the models (no --base)' };
    const report = kinshipReport(names, loaded.layout, moments, reference);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ device: describeDevice(device), ...report }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`Kinship over ${loaded.layout.totalSize.toLocaleString('en-US')} merged parameters (${loaded.layout.slots.length} tensors), ${report.reference.label}; ${describeDevice(device)}.\n`);
    for (const metric of METRICS) process.stdout.write(`\n${KINSHIP_METRIC_LABELS[metric]}\n${matrixTable(report, report.overall, metric)}\n`);
    if (values.layers) {
      for (const layer of report.layers) {
        for (const metric of METRICS) process.stdout.write(`\n${layer.name}: ${KINSHIP_METRIC_LABELS[metric]}\n${matrixTable(report, layer.matrix, metric)}\n`);
      }
    }
    return 0;
  } finally {
    store.dispose();
    device?.device.destroy();
  }
}
