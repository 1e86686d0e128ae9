import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MergeEngine } from '../src/engine/engine';
import { DEFAULT_MERGE } from '../src/engine/merge-params';
import { readSafetensors, tensorToFloat32 } from '../src/formats/safetensors';
const S = 'public/samples';
const m = JSON.parse(readFileSync(path.join(S, 'manifest.json'), 'utf8'));
const names = ['manifest.json', m.tokenizer, m.dev, m.heldout, ...m.models.map((x: any) => x.file)];
const files = names.map((name: string) => ({ name, bytes: new Uint8Array(readFileSync(path.join(S, name))) }));
const engine = new MergeEngine(); await engine.init('wasm'); await engine.addFiles(files);
const get = async (method: any) => { await engine.merge({ ...DEFAULT_MERGE, method }, () => {}); const f = readSafetensors((await engine.exportSafetensors()).bytes, 'x'); return new Map(f.tensors.map((t) => [t.name, tensorToFloat32(t)])); };
const a = await get('average'); const f = await get('fisher');
for (const name of ['head.weight', 'head.bias', 'ln_f.weight']) { const x = a.get(name)!, y = f.get(name)!; let d = 0; for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i])); console.log(name, 'max |avg - fisher|', d, 'sample', x.slice(0, 3), y.slice(0, 3)); }
