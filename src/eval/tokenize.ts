// Text → token ids for a dropped tokenizer.json (Hugging Face `tokenizers` format), as a thin
// wrapper over the pure-JS `@huggingface/tokenizers` 0.2.0. Only this module imports that package.
//
// Gaps in the JS port that this wrapper fills:
// - `WordLevel` models fall through to the port's `Legacy` model, which reads `unk_token` from
//   tokenizer_config.json, not from the model section; we pass the model's own `unk_token`, so a
//   tokenizer.json alone is enough.
// - the port ignores tokenizer.json's `truncation`; `encode(text, maxLength)` truncates the way
//   the Rust library does: the text tokens are cut and the template's special tokens ([CLS]…[SEP])
//   are kept. Padding is left to the caller (dataset.ts), which knows the model's static length.
// Known drift we deliberately keep: the port's `Whitespace` pre-tokenizer uses ASCII `\w`
// (/\w+|[^\w\s]+/g), so "café" is "caf" + "é" here but one word in Rust. The bundled sample
// tokenizer (tools/fixtures/wordlevel.py) reproduces the JS behaviour, and the sample checkpoints
// were trained on those ids, so matching the port is what keeps them scoring correctly.
import { Tokenizer } from '@huggingface/tokenizers';
import { DatasetError } from './errors';

export interface TextTokenizer {
  /**
   * Token ids with the tokenizer's special tokens, unpadded; at most `maxLength` ids when given, and
   * at most tokenizer.json's `truncation.max_length` when it sets one.
   */
  encode(text: string, maxLength?: number): number[];
  /** From tokenizer.json's `padding.pad_id`, else the id of a [PAD] / <pad> token, else null. */
  padId: number | null;
  /** The ids of a text without the template's special tokens (one word of a word-tagged row). */
  encodeContent?(text: string): number[];
  /** The special tokens the template puts before and after a single sequence ([CLS] … [SEP]). */
  specialIds?: { prefix: number[]; suffix: number[] };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

interface Truncation {
  maxLength: number;
  fromLeft: boolean;
}

function readTruncation(json: Record<string, unknown>): Truncation | null {
  const t = json.truncation;
  if (!isObject(t) || !isIndex(t.max_length)) return null;
  return { maxLength: t.max_length, fromLeft: t.direction === 'Left' };
}

function sameRange(a: number[], offset: number, b: number[]): boolean {
  for (let i = 0; i < b.length; i++) if (a[offset + i] !== b[i]) return false;
  return true;
}

/**
 * Parses a tokenizer.json. Throws DatasetError naming `fileName` when the text is not JSON, not a
 * tokenizer, or uses a component the JS port lacks.
 */
export function loadTokenizer(json: string, fileName: string): TextTokenizer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new DatasetError(fileName, `${fileName}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(parsed) || !isObject(parsed.model)) {
    throw new DatasetError(fileName, `${fileName}: not a tokenizer.json (no "model" section)`);
  }
  const model = parsed.model;
  if (!isObject(model.vocab) && !Array.isArray(model.vocab)) {
    throw new DatasetError(fileName, `${fileName}: not a tokenizer.json (the model has no vocab)`);
  }
  // The port requires these keys to exist (null is fine) and iterates added_tokens unguarded.
  const tokenizerJson = {
    ...parsed,
    normalizer: parsed.normalizer ?? null,
    pre_tokenizer: parsed.pre_tokenizer ?? null,
    post_processor: parsed.post_processor ?? null,
    decoder: parsed.decoder ?? null,
    added_tokens: Array.isArray(parsed.added_tokens) ? parsed.added_tokens : [],
  };
  const config: Record<string, unknown> = {};
  if (typeof model.unk_token === 'string') config.unk_token = model.unk_token;

  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson, config);
    tok.encode('Hello, world 42');
  } catch (err) {
    throw new DatasetError(fileName, `${fileName}: unsupported tokenizer (${(err as Error).message})`);
  }

  const truncation = readTruncation(parsed);
  const padding = parsed.padding;
  let padId: number | null = null;
  if (isObject(padding) && isIndex(padding.pad_id)) padId = padding.pad_id;
  else padId = tok.token_to_id('[PAD]') ?? tok.token_to_id('<pad>') ?? null;

  const encodeIds = (text: string, addSpecial: boolean): number[] => {
    const { ids } = tok.encode(text, { add_special_tokens: addSpecial });
    for (const id of ids) {
      if (!isIndex(id)) {
        throw new DatasetError(fileName, `${fileName}: a token has no id and the tokenizer defines no usable unk_token`);
      }
    }
    return ids;
  };

  const encode = (text: string, maxLength?: number): number[] => {
    const limit = Math.min(maxLength ?? Infinity, truncation?.maxLength ?? Infinity);
    const fromLeft = truncation?.fromLeft ?? false;
    const full = encodeIds(text, true);
    if (full.length <= limit) return full;
    const content = encodeIds(text, false);
    const nSpecial = full.length - content.length;
    const cut = (ids: number[], n: number) => (fromLeft ? ids.slice(ids.length - n) : ids.slice(0, n));
    // Locate the text tokens inside the template output; templates for one sequence only put
    // special tokens before and after it.
    let prefix = -1;
    if (nSpecial >= 0 && nSpecial <= limit) {
      for (let p = 0; p <= nSpecial; p++) {
        if (sameRange(full, p, content)) {
          prefix = p;
          break;
        }
      }
    }
    if (prefix < 0) return cut(full, limit);
    return [
      ...full.slice(0, prefix),
      ...cut(content, limit - nSpecial),
      ...full.slice(prefix + content.length),
    ];
  };

  // Where the template's special tokens sit: around the content of a probe text.
  const probeFull = encodeIds('a', true);
  const probe = encodeIds('a', false);
  let at = -1;
  for (let p = 0; p + probe.length <= probeFull.length; p++) {
    if (sameRange(probeFull, p, probe)) {
      at = p;
      break;
    }
  }
  const specialIds = at < 0 ? { prefix: [], suffix: [] } : { prefix: probeFull.slice(0, at), suffix: probeFull.slice(at + probe.length) };

  return { encode, padId, encodeContent: (text: string) => encodeIds(text, false), specialIds };
}
