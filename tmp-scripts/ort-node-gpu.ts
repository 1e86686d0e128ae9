import { getNodeGpu } from '../src/gpu/node-gpu';
import { requestStudioDevice } from '../src/gpu/device';
import { MergeEngine } from '../src/engine/engine';
import { sampleFiles } from '../src/testing/samples';
const gpu = await getNodeGpu();
(globalThis as any).navigator ??= { gpu, hardwareConcurrency: 2 };
console.log('gpu', !!gpu, typeof (globalThis as any).navigator);
const engine = new MergeEngine(() => gpu);
console.log(await engine.init('webgpu'));
await engine.addFiles(sampleFiles());
try {
  const r = await engine.merge({ method: 'average', lambda: 1, density: 0.5, t: 0.5, alpha: 0.9, seed: 0 }, (e) => e.type === 'phase' && console.log(e.text));
  console.log(r.path, r.final.dev.accuracy);
} catch (e) { console.log('ERR', e); }
process.exit(0);
