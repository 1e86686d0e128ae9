import { register } from 'tsx/esm/api';
register();
const t0 = Date.now();
const { main } = await import('../cli/main.ts');
const S = 'public/samples';
const rc = await main(['evolve', '--dev', `${S}/dev.jsonl`, '--tokenizer', `${S}/tokenizer.json`, '--heldout', `${S}/heldout.jsonl`, '--generations', '1', '--json', '--out', '/tmp/cli/e2.safetensors', `${S}/expert-a.onnx`, `${S}/expert-b.onnx`, `${S}/expert-c.onnx`]);
console.error('main returned', rc, 'after', Date.now() - t0, 'ms', process.getActiveResourcesInfo());
process.on('exit', () => console.error('exit after', Date.now() - t0, 'ms'));
