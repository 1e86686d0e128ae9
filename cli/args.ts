/**
 * Argument parsing for the CLI on node:util's parseArgs, with one help text per
 * command and usage errors that name the problem (exit code 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string | null = null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Option lines for --help, already formatted. */
  help: string;
  options: Options;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommand(spec: CommandSpec, argv: readonly string[]): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: { ...spec.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, '.'), spec.name);
  }
}

export function helpText(spec: CommandSpec): string {
  return `${spec.summary}\n\nUsage: evolver-studio ${spec.usage}\n\nOptions:\n${spec.help}\n  -h, --help              this text\n`;
}

export function stringOption(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A number option within [min, max]; integer when asked. */
export function numberOption(values: Parsed['values'], name: string, fallback: number, { min = -Infinity, max = Infinity, integer = false } = {}): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const range = `${min === -Infinity ? '' : `≥ ${min}`}${min !== -Infinity && max !== Infinity ? ' and ' : ''}${max === Infinity ? '' : `≤ ${max}`}`;
    throw new UsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'}${range ? ` ${range}` : ''}, got "${raw}".`);
  }
  return value;
}

export function listOption(values: Parsed['values'], name: string): number[] | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((v) => !Number.isFinite(v))) throw new UsageError(`--${name} must be comma-separated numbers, got "${raw}".`);
  return list;
}

export function choiceOption<T extends string>(values: Parsed['values'], name: string, choices: readonly T[], fallback: T): T {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got "${raw}".`);
  return raw as T;
}

export function requireOption(values: Parsed['values'], name: string): string {
  const v = stringOption(values, name);
  if (v === undefined) throw new UsageError(`--${name} is required.`);
  return v;
}
