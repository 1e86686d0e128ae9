/**
 * Class labels of dev rows: an index, or a name mapped through the label list the user gave,
 * within the model's classes. The classification task's row validation; the dataset encoder calls
 * it row by row so the first bad row is reported, whatever is wrong with it.
 */
import { DatasetError } from '../errors';
import type { DevRow } from '../dev-row';

export interface ClassLabelParams {
  fileName: string;
  /** Class names (index = class): string labels map through them, and the class count defaults to their length. */
  labels?: string[];
  /** The model's class count; else the names' count, else one more than the largest index. */
  labelCount?: number;
}

export interface ClassLabels {
  labelCount: number;
  /** The row's class index; throws a DatasetError naming file and line. */
  indexOf(row: DevRow): number;
}

function describe(x: unknown): string {
  const s = JSON.stringify(x);
  return s === undefined ? String(x) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export function classLabels(rows: readonly DevRow[], { fileName, labels: names, labelCount: count }: ClassLabelParams): ClassLabels {
  if (count !== undefined && !(Number.isSafeInteger(count) && count > 0)) {
    throw new RangeError(`encodeDataset: labelCount must be a positive integer, got ${count}`);
  }
  if (names !== undefined && count !== undefined && names.length !== count) {
    throw new DatasetError(fileName, `${fileName}: ${names.length} label names given (${names.join(', ')}) but the model has ${count} classes`);
  }
  const labelCount = count ?? names?.length ?? rows.reduce((m, r) => (typeof r.label === 'number' && Number.isSafeInteger(r.label) ? Math.max(m, r.label + 1) : m), 0);
  const nameIndex = new Map<string, number>();
  names?.forEach((n, i) => nameIndex.set(n, i));
  return {
    labelCount,
    indexOf(row) {
      const fail = (problem: string) => new DatasetError(fileName, `${fileName}, line ${row.line}: ${problem}`, row.line);
      if (row.label === undefined) throw fail('missing "label"');
      let cls: number;
      if (typeof row.label === 'string') {
        const found = nameIndex.get(row.label);
        if (found === undefined) {
          throw fail(
            names === undefined
              ? `label "${row.label}" is a name, but no label list was given to map names to classes`
              : `unknown label "${row.label}" (expected one of ${names.map((n) => `"${n}"`).join(', ')})`,
          );
        }
        cls = found;
      } else if (!Number.isSafeInteger(row.label) || row.label < 0) {
        throw fail(`"label" must be a label index (integer ≥ 0) or a label name, got ${describe(row.label)}`);
      } else {
        cls = row.label;
      }
      if (!(cls >= 0 && cls < labelCount)) throw fail(`label ${describe(row.label)} is outside the model's ${labelCount} classes (0..${labelCount - 1})`);
      return cls;
    },
  };
}
