// Starts a kernel thread: the TypeScript worker (kernel-thread-worker.ts) through tsx, as bin/evolver-studio.mjs runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./kernel-thread-worker.ts');
