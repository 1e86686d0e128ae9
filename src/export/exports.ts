/**
 * What a finished run can be saved as, besides the plain safetensors file: Hugging Face
 * sharded safetensors (shards plus model.safetensors.index.json), a README.md model card,
 * and a zip of several files. Pure module: tensors and reports in, bytes out.
 */
import { zipSync } from 'fflate';
import { SAFETENSORS_DTYPE_SIZE } from '../formats/safetensors-format';
import { writeSafetensors } from '../formats/safetensors-write';
import { type SafetensorsWriteDtype } from '../protocol/files';
import type { FloatTensor } from '../merge/layout';
import type { ExportedFile } from '../protocol/files';
import type { MetricDescriptor, ModelScores, RunResult } from '../protocol/results';
import { formatMetric, metricHeader, taskMetrics } from '../eval/tasks/metric-format';

/**
 * Shards as huggingface_hub writes them: tensors in order, a new shard when the next one
 * would pass the limit (a tensor larger than the limit gets a shard of its own), files
 * model-0000k-of-0000n.safetensors, and an index mapping each tensor to its shard.
 */
export function shardedSafetensors(tensors: readonly FloatTensor[], metadata: Record<string, string>, dtype: SafetensorsWriteDtype, maxShardBytes: number, stem = 'model'): ExportedFile[] {
  const shards = planShards(tensors, dtype, maxShardBytes);
  const weightMap: Record<string, string> = {};
  const files = shards.map((shard, i) => {
    const fileName = shardFileName(stem, i, shards.length);
    for (const t of shard) weightMap[t.name] = fileName;
    return { fileName, bytes: writeSafetensors(shard.map((t) => ({ name: t.name, shape: t.dims, data: t.data })), metadata, dtype) };
  });
  const totalSize = tensors.reduce((n, t) => n + t.data.length * SAFETENSORS_DTYPE_SIZE[dtype], 0);
  const index = { metadata: { total_size: totalSize, ...metadata }, weight_map: weightMap };
  files.push({ fileName: indexFileName(stem), bytes: new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`) });
  return files;
}

/** Tensors in order, cut into shards of at most maxShardBytes (a larger tensor alone). */
export function planShards<T extends { data: { length: number } }>(tensors: readonly T[], dtype: SafetensorsWriteDtype, maxShardBytes: number): T[][] {
  const shards: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.data.length * SAFETENSORS_DTYPE_SIZE[dtype];
    if (current.length > 0 && size + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

export function shardFileName(stem: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${stem}-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

export function indexFileName(stem: string): string {
  return `${stem}.safetensors.index.json`;
}

/** Files in one zip (stored names as given; already-compressed weights are stored, text deflated). */
export function zipFiles(files: readonly ExportedFile[]): Uint8Array {
  return zipSync(Object.fromEntries(files.map((f) => [f.fileName, [f.bytes, { level: /\.(json|md|txt)$/.test(f.fileName) ? 6 : 0 }]])), { mtime: new Date('2026-01-01T00:00:00Z') });
}

/** A row of the card's score table: the task's metrics on dev, then on held-out data. */
function scoreRow(label: string, m: ModelScores, metrics: readonly MetricDescriptor[]): string {
  const cells = [...metrics.map((d) => formatMetric(d, m.dev.metrics[d.key], 2)), ...metrics.map((d) => formatMetric(d, m.heldout?.metrics[d.key], 2))];
  return `| ${label} | ${cells.join(' | ')} |`;
}

function scoreHeader(metrics: readonly MetricDescriptor[]): string[] {
  const names = [...metrics.map((d) => metricHeader('dev', d)), ...metrics.map((d) => metricHeader('held-out', d))];
  return [`| model | ${names.join(' | ')} |`, `|---|${names.map(() => '---|').join('')}`];
}

export interface ModelCardInput {
  report: RunResult;
  base: string | null;
  devFile: string;
  heldoutFile: string | null;
  files: readonly string[];
  recipeFile: string;
  /** The CLI command that makes this result again (reproduce-command.ts), and what it cannot carry. */
  command: string;
  commandNote: string | null;
  /** The base's model id on the Hub, when its config.json or the user gave one: the card's base_model. */
  baseModelId: string | null;
}

/** A README.md model card: what was merged, how, with which scores, and how to get it again. */
export function modelCard({ report, base, devFile, heldoutFile, files, recipeFile, command, commandNote, baseModelId }: ModelCardInput): string {
  const sources = report.individuals.map((m) => m.name);
  const metrics = taskMetrics(report.final.dev.task);
  const how =
    report.strategy === 'evolver'
      ? `the Evolver (${report.settings.mutation}${report.settings.adaptive ? ', jDE' : ''}, F ${report.settings.f}, CR ${report.settings.cr}, ${report.settings.generations} generations, ${report.settings.mode === 'merged' ? `scored as the population merged by ${report.mergerLabel}` : 'each individual scored alone'})`
      : report.strategy === 'kinship_topk'
        ? `Top-k greedy kinship merging (k ${report.settings.topK}, ${report.mergerLabel})`
        : `a one-shot ${report.mergerLabel} merge`;
  const lines = [
    '---',
    'library_name: onnx',
    'tags:',
    '- merge',
    '- evolver-studio',
    // The Hub reads base_model as a model id: a file name there would link nowhere.
    ...(baseModelId ? [`base_model: ${baseModelId}`] : []),
    '---',
    '',
    `# ${report.strategy === 'evolver' ? `Evolved merge (seed ${report.settings.seed})` : report.strategy === 'kinship_topk' ? 'Top-k kinship merge' : `${report.mergerLabel} merge`}`,
    '',
    `Merged in Evolver Studio, in the browser, on the ${report.path === 'webgpu' ? 'WebGPU' : 'WASM'} path, from ${sources.length} checkpoints with ${how}.`,
    '',
    '## Sources',
    '',
    ...sources.map((s) => `- ${s}`),
    ...(base ? [`- base (task vectors are taken from it): ${base}`] : []),
    '',
    '## Scores',
    '',
    `Selection used the dev set (${devFile}, ${report.final.dev.size} rows); held-out (${heldoutFile ?? `a seeded split of ${devFile}`}, ${report.final.heldout?.size ?? 0} rows) is reported only.`,
    '',
    ...scoreHeader(metrics),
    ...report.individuals.map((m) => scoreRow(m.name, m, metrics)),
    ...(report.strategy === 'evolver' ? [scoreRow('starting merge', report.initialMerge, metrics)] : []),
    scoreRow('**this model**', report.final, metrics),
    '',
    `${report.counters.evaluations} dev evaluations, ${report.counters.accepted} of ${report.counters.offspring} offspring accepted.`,
    '',
    '## Reproduce',
    '',
    report.strategy === 'merge'
      ? `\`${recipeFile}\` holds the method and its parameters. Drop it into the studio with the same checkpoints, or run, from the folder the files were dropped from:`
      : `\`${recipeFile}\` holds the settings and the seed (${report.settings.seed}); one seed reproduces the whole run. Drop it into the studio with the same checkpoints and dev set, or run, from the folder the files were dropped from:`,
    '',
    '```sh',
    command,
    '```',
    ...(commandNote ? ['', commandNote] : []),
    '',
    '## Files',
    '',
    ...files.map((f) => `- ${f}`),
    '',
  ];
  return lines.join('\n');
}

export interface MergekitCardInput {
  /** The method's mergekit name and the studio's label for it. */
  method: string;
  label: string;
  base: string | null;
  models: readonly string[];
  /** The YAML that made the merge (written as mergekit_config.yml beside it). */
  configYaml: string;
  files: readonly string[];
}

/**
 * The README.md of a merge run from a mergekit config, in mergekit's card layout (front
 * matter with the models, the method, the models merged, the configuration), saying which
 * tool made it.
 */
export function mergekitCard({ method, label, base, models, configYaml, files }: MergekitCardInput): string {
  const others = models.filter((m) => m !== base);
  return [
    '---',
    'base_model:',
    ...[...(base ? [base] : []), ...others].map((m) => `- ${m}`),
    'library_name: transformers',
    'tags:',
    '- mergekit',
    '- merge',
    '- evolver-studio',
    '---',
    '# merged',
    '',
    'This is a merge of pre-trained language models, made with Evolver Studio from a [mergekit](https://github.com/arcee-ai/mergekit) configuration.',
    '',
    '## Merge Details',
    '### Merge Method',
    '',
    `This model was merged using the ${method === 'passthrough' ? 'passthrough (layer stacking)' : `${label} (\`${method}\`)`} merge method${base ? ` using ${base} as a base` : ''}.`,
    '',
    '### Models Merged',
    '',
    'The following models were included in the merge:',
    ...others.map((m) => `* ${m}`),
    '',
    '### Configuration',
    '',
    'The following YAML configuration was used to produce this model (also in `mergekit_config.yml`):',
    '',
    '```yaml',
    configYaml.trimEnd(),
    '```',
    '',
    '## Files',
    '',
    ...files.map((f) => `- ${f}`),
    '',
  ].join('\n');
}
