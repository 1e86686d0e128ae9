// Starts a merge worker thread: the TypeScript worker (merge-worker.ts) through tsx, as bin/evolver-studio.mjs runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./merge-worker.ts');
