/**
 * mergekit's parameter settings (config.py's ParameterSetting) as this project reads them:
 * - a scalar (number, boolean or string): the same everywhere;
 * - a gradient (a list of numbers): anchors spread over the layers, linearly interpolated at
 *   the tensor's t (layer index / (layers − 1); embeddings 0, the final norm and head 1);
 * - a list of {filter, value} entries (or one such entry): the first entry whose filter is a
 *   substring of the tensor name ("*" or no filter: any tensor) gives the value; when none
 *   matches, the next level of the config (slice, then top-level parameters) is asked.
 * The same meaning as the project's per-tensor rules (param-rules.ts), onto which the
 * top-level settings map (toParamRule). Pure module.
 */
import { validateParamRule } from './param-rules';
import type { ParamRule } from '../protocol/settings';

export type MergekitScalar = number | boolean | string;
export type MergekitValue = MergekitScalar | number[];
export interface MergekitConditional {
  filter?: string;
  value: MergekitValue;
}
export type MergekitSetting = MergekitValue | MergekitConditional[];
export type MergekitParameters = Record<string, MergekitSetting>;

/** A problem with a mergekit config: "<file>: <where>: <what>". */
export class MergekitConfigError extends Error {
  override name = 'MergekitConfigError';
  constructor(
    readonly fileName: string,
    detail: string,
  ) {
    super(`${fileName}: ${detail}`);
  }
}

function isScalar(v: unknown): v is MergekitScalar {
  return (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' || typeof v === 'string';
}

function isValue(v: unknown): v is MergekitValue {
  return isScalar(v) || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x)));
}

/** Checks one untrusted setting; where: "parameters.t" for the messages. */
export function parseSetting(raw: unknown, where: string, file: string): MergekitSetting {
  if (isValue(raw)) return raw;
  const entries = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null ? [raw] : null;
  if (!entries || entries.length === 0) {
    throw new MergekitConfigError(file, `${where}: expected a number, a list of numbers (a gradient) or a list of {filter, value} entries, got ${JSON.stringify(raw)}.`);
  }
  return entries.map((entry, i) => {
    const at = `${where}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new MergekitConfigError(file, `${at}: expected {filter, value}, got ${JSON.stringify(entry)}.`);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (key !== 'filter' && key !== 'value') {
        throw new MergekitConfigError(file, `${at}: unknown key "${key}" (allowed: filter, value${key === 'pattern' ? '; older mergekit configs said "pattern" for "filter"' : ''}).`);
      }
    }
    if (e.filter !== undefined && e.filter !== null && typeof e.filter !== 'string') throw new MergekitConfigError(file, `${at}.filter: expected a string, got ${JSON.stringify(e.filter)}.`);
    if (!isValue(e.value)) throw new MergekitConfigError(file, `${at}.value: expected a number or a list of numbers, got ${JSON.stringify(e.value)}.`);
    const filter = typeof e.filter === 'string' && e.filter !== '*' ? e.filter : undefined;
    return filter === undefined ? { value: e.value } : { filter, value: e.value };
  });
}

/** Checks a parameters map: each key must be one of `allowed` (the method's), each value a setting. */
export function parseParameters(raw: unknown, where: string, file: string, allowed: readonly string[]): MergekitParameters {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new MergekitConfigError(file, `${where}: expected a map of parameter names to values, got ${JSON.stringify(raw)}.`);
  const out: MergekitParameters = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!allowed.includes(key)) throw new MergekitConfigError(file, `${where}: unknown parameter "${key}" (allowed here: ${allowed.join(', ') || 'none'}).`);
    if (value === null || value === undefined) continue;
    out[key] = parseSetting(value, `${where}.${key}`, file);
  }
  return out;
}

function interpolate(anchors: readonly number[], t: number): number {
  if (anchors.length === 1) return anchors[0]!;
  const scaled = Math.min(1, Math.max(0, t)) * (anchors.length - 1);
  const i0 = Math.min(anchors.length - 1, Math.floor(scaled));
  const i1 = Math.min(anchors.length - 1, i0 + 1);
  const frac = scaled - i0;
  return (1 - frac) * anchors[i0]! + frac * anchors[i1]!;
}

function valueAt(value: MergekitValue, t: number): MergekitScalar {
  return Array.isArray(value) ? interpolate(value, t) : value;
}

/** mergekit's evaluate_setting: the value for one tensor at t, or undefined when no entry matches. */
export function evaluateSetting(setting: MergekitSetting, tensorName: string, t: number): MergekitScalar | undefined {
  if (!Array.isArray(setting) || setting.every((v) => typeof v === 'number')) return valueAt(setting as MergekitValue, t);
  for (const cond of setting as MergekitConditional[]) {
    if (cond.filter === undefined || tensorName.includes(cond.filter)) return valueAt(cond.value, t);
  }
  return undefined;
}

/** The first level that gives a value (mergekit's ConfigReader.parameter: source, slice, top level). */
export function lookup(levels: readonly (MergekitParameters | undefined)[], name: string, tensorName: string, t: number): MergekitScalar | undefined {
  for (const level of levels) {
    const setting = level?.[name];
    if (setting === undefined) continue;
    const value = evaluateSetting(setting, tensorName, t);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** A numeric setting as a project rule (param-rules.ts); null when it holds non-numbers. */
export function toParamRule(setting: MergekitSetting, name: string): ParamRule | null {
  const numeric = (v: MergekitValue) => typeof v === 'number' || Array.isArray(v);
  if (Array.isArray(setting) && !setting.every((v) => typeof v === 'number')) {
    const entries = setting as MergekitConditional[];
    if (!entries.every((e) => numeric(e.value))) return null;
    // The project's rules throw when nothing matches; mergekit falls back to the defaults:
    // entries without a default keep the method's own default then (the caller adds it).
    return validateParamRule(entries.map((e) => (e.filter === undefined ? { value: e.value as number | number[] } : { filter: e.filter, value: e.value as number | number[] })), name);
  }
  return numeric(setting as MergekitValue) ? validateParamRule(setting, name) : null;
}

/** A project rule back as a mergekit setting (the same shapes). */
export function fromParamRule(rule: ParamRule): MergekitSetting {
  if (typeof rule === 'number' || (Array.isArray(rule) && rule.every((v) => typeof v === 'number'))) return rule as MergekitValue;
  return (rule as { filter?: string; value: number | number[] }[]).map((e) => (e.filter === undefined ? { value: e.value } : { filter: e.filter, value: e.value }));
}
