import { getNodeGpu } from '../src/gpu/node-gpu';
console.log(!!(await getNodeGpu()));
