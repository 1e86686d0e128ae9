import { deStepCpu } from '../src/kernels/de-step/de-step.cpu';
const n = 20_000_000;
const a = new Float32Array(n).map((_, i) => Math.sin(i)); const b = new Float32Array(n).map((_, i) => Math.cos(i)); const out = new Float32Array(n);
const time = (f: () => void) => { f(); const t = performance.now(); for (let k = 0; k < 5; k++) f(); return (performance.now() - t) / 5; };
const mem = time(() => out.set(a));
const de = time(() => deStepCpu(a, b, out, { f: 0.5, cr: 0.5, seed: 1, stream: 2, offset: 0, jRand: 5 }));
console.log({ mem, de, ratio: de / mem });
