import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MergeEngine } from '../src/engine/engine';
import { DEFAULT_MERGE, type MergeParams } from '../src/engine/merge-params';
const S = 'public/samples';
const m = JSON.parse(readFileSync(path.join(S, 'manifest.json'), 'utf8'));
const names = ['manifest.json', m.tokenizer, m.dev, m.heldout, ...m.models.map((x: any) => x.file)];
const files = names.map((name: string) => ({ name, bytes: new Uint8Array(readFileSync(path.join(S, name))) }));
const engine = new MergeEngine();
await engine.init('wasm');
const r = await engine.addFiles(files);
console.log(r.problems, r.checkpoints.map((c) => c.name + (c.isBase ? '*' : '')));
const methods: Partial<MergeParams>[] = [
  { method: 'average' }, { method: 'task_arithmetic', lambda: 1 }, { method: 'task_arithmetic', lambda: 0.5 }, { method: 'ties', density: 0.5, lambda: 1 },
  { method: 'dare_linear', density: 0.5, lambda: 1 }, { method: 'dare_ties', density: 0.5, lambda: 1 }, { method: 'model_stock' }, { method: 'regmean', alpha: 0.9 }, { method: 'regmean', alpha: 0.1 }, { method: 'fisher' },
];
let first = true;
for (const p of methods) {
  const t0 = performance.now();
  const res = await engine.merge({ ...DEFAULT_MERGE, ...p } as MergeParams, () => {});
  if (first) { for (const i of res.individuals) console.log(i.name, i.dev.accuracy.toFixed(4), i.heldout?.accuracy.toFixed(4)); first = false; }
  console.log(res.mergerLabel, res.final.dev.accuracy.toFixed(4), res.final.dev.macroF1.toFixed(4), res.final.heldout?.accuracy.toFixed(4), ((performance.now() - t0) / 1000).toFixed(1) + 's');
}
const t0 = performance.now();
const ev = await engine.run({ f: 0.5, cr: 0.5, generations: 5, seed: 42, mode: 'merged', merger: DEFAULT_MERGE }, () => {});
console.log('evolver+avg', ev.final.dev.accuracy, ev.final.heldout?.accuracy, ev.counters, (performance.now() - t0) / 1000);
