/**
 * For tests and the bench (tools/bench-queue.ts): a Redis server of the test's own on a free local port (Debian's redis-server, which
 * tools/system-deps.mjs installs), and CLI workers as child processes whose log lines the test
 * can wait for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';

export const CLI_BIN = path.resolve(import.meta.dirname, '../../bin/evolver-studio.mjs');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) => server.once('error', (err) => reject(new Error(`redis-server did not start (${err.message}); install it with apt-get install redis-server (tools/system-deps.mjs does)`))));
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  for (let i = 0; ; i++) {
    try {
      await Promise.race([client.connect().then(() => client.ping()), failed]);
      break;
    } catch (err) {
      if (i > 100 || String(err).includes('did not start')) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  client.disconnect();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => new Promise((resolve) => (server.exitCode !== null ? resolve() : (server.once('exit', () => resolve()), server.kill('SIGTERM')))),
  };
}

export interface TestWorker {
  process: ChildProcess;
  log(): string;
  /** Resolves when the worker's log has a line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startWorker(url: string, dataRoot: string, extra: string[] = []): TestWorker {
  const child = spawn(process.execPath, [CLI_BIN, 'worker', '--queue', url, '--data-root', dataRoot, '--threads', '1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const listeners = new Set<() => void>();
  const take = (chunk: Buffer) => {
    text += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  return {
    process: child,
    log: () => text,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(text)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => (listeners.delete(check), reject(new Error(`worker log never matched ${pattern}:\n${text}`))), timeoutMs);
        listeners.add(check);
        check();
      }),
    stop: () => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))),
  };
}
