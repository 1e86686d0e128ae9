/**
 * Entity-level scores of tag sequences as seqeval computes them in strict mode with the IOB2
 * scheme (`mode="strict", scheme=IOB2`): an entity starts at a B-X tag and runs over the I-X tags
 * that follow it; an I tag with no B of its type before it starts nothing, and a B ends any open
 * entity. Precision, recall and F1 are micro averages over every entity of every sequence (an
 * entity counts as found only with the same type, start and end); a 0/0 is 0, as seqeval's
 * zero_division default gives. Pure functions.
 */

export interface Entity {
  type: string;
  start: number;
  /** One past the last tag. */
  end: number;
}

const IOB2_TAG = /^(O|[BI]-.+)$/;

/** Whether every tag name is O, B-X or I-X: the tag set has entities to score. */
export function isIob2TagSet(names: readonly string[]): boolean {
  return names.length > 0 && names.every((n) => IOB2_TAG.test(n)) && names.some((n) => n !== 'O');
}

function split(tag: string): { prefix: string; type: string } {
  if (tag === 'O') return { prefix: 'O', type: '' };
  if (!IOB2_TAG.test(tag)) throw new RangeError(`seqeval: "${tag}" is not an IOB2 tag (O, B-X or I-X)`);
  return { prefix: tag[0]!, type: tag.slice(2) };
}

/** The entities of one tag sequence, strict IOB2. */
export function iob2Entities(tags: readonly string[]): Entity[] {
  const parsed = tags.map(split);
  const out: Entity[] = [];
  let i = 0;
  while (i < parsed.length) {
    const { prefix, type } = parsed[i]!;
    if (prefix !== 'B') {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < parsed.length && parsed[end]!.prefix === 'I' && parsed[end]!.type === type) end++;
    out.push({ type, start: i, end });
    i = end;
  }
  return out;
}

export interface EntityScores {
  precision: number;
  recall: number;
  f1: number;
  /** Entities in the reference sequences. */
  support: number;
}

/** Micro-averaged entity precision, recall and F1 of predicted sequences against reference ones. */
export function entityScores(truth: readonly (readonly string[])[], pred: readonly (readonly string[])[]): EntityScores {
  if (truth.length !== pred.length) throw new RangeError(`seqeval: ${truth.length} reference sequences but ${pred.length} predicted`);
  let nTrue = 0;
  let nPred = 0;
  let tp = 0;
  truth.forEach((t, s) => {
    const p = pred[s]!;
    if (p.length !== t.length) throw new RangeError(`seqeval: sequence ${s} has ${t.length} reference tags but ${p.length} predicted`);
    const key = (e: Entity) => `${e.type}\u001f${e.start}\u001f${e.end}`;
    const want = new Set(iob2Entities(t).map(key));
    const got = iob2Entities(p).map(key);
    nTrue += want.size;
    nPred += got.length;
    for (const k of got) if (want.has(k)) tp++;
  });
  const precision = nPred > 0 ? tp / nPred : 0;
  const recall = nTrue > 0 ? tp / nTrue : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, support: nTrue };
}
