/**
 * The Redis connection of a queue: parsed from --queue redis://HOST:PORT[/DB], checked once with
 * a short timeout so that an unreachable server is a clear error at start (BullMQ's own clients
 * would retry forever), then handed to BullMQ as connection options.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { UsageError } from '../args';

/** The queue every coordinator and worker of an installation shares. */
export const QUEUE_NAME = 'evolver-evaluations';

export class QueueUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueUnreachableError';
  }
}

export function redisOptions(url: string, command: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--queue must be a Redis URL such as redis://127.0.0.1:6379; got "${url}".`, command);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new UsageError(`--queue must be a redis:// (or rediss://) URL; got "${url}".`, command);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new UsageError(`--queue ${url}: the path must be a database number.`, command);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's blocking clients need this; commands wait for a reconnect instead of failing.
    maxRetriesPerRequest: null,
  };
}

/** A client for the run's own keys, after a PING answered within `timeoutMs`. */
export async function connectRedis(url: string, options: RedisOptions, timeoutMs = 5000): Promise<Redis> {
  const probe = new Redis({ ...options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    probe.disconnect();
    throw new QueueUnreachableError(`cannot reach Redis at ${url} (${(err as Error).message || String(err)}). Start one (e.g. redis-server --port ${options.port}) or give its address with --queue.`);
  }
  probe.disconnect();
  const client = new Redis(options);
  client.on('error', () => {});
  return client;
}
