// Maps a dropped file to the format it holds, netron style: one entry per format, each with
// a `match` (does this file look like me?) and, for the formats read in this room, an `open`.
// The name decides first (extensions and the names Hugging Face and torch use), the first
// bytes only when no name claims the file. Works on a head (the first 64 KB is enough) so
// the UI can classify large files before reading them whole. Imports the readers of this
// room only; datasets and tokenizers are parsed by the rooms above from the format named here.

import { readOnnx, sniffOnnx } from './onnx-read';
import { readSafetensors, sniffSafetensors } from './safetensors-read';

export type FileFormat = 'onnx' | 'onnx-data' | 'safetensors' | 'safetensors-index' | 'jsonl' | 'csv' | 'tokenizer' | 'json' | 'unknown';

/** What a format's match() looks at. */
export interface FileContext {
  /** Base name of the file, lower case ("Some/Dir/Tokenizer.JSON" → "tokenizer.json"). */
  readonly name: string;
  /** After the last dot of the name, lower case; '' when there is none (or only a leading one). */
  readonly extension: string;
  /** The first bytes: a prefix of the file is enough. */
  readonly head: Uint8Array;
  /** The head as text, byte-order mark removed; decoded on first use. */
  readonly text: string;
}

export interface FormatEntry {
  readonly format: Exclude<FileFormat, 'unknown'>;
  /**
   * By name (`byContent` false): whether the name says this format. By content (true, asked
   * only when no entry claimed the name): whether the first bytes do.
   */
  match(context: FileContext, byContent: boolean): boolean;
  /** Reads a whole file of this format; absent where the rooms above do the parsing. */
  readonly open?: (bytes: Uint8Array, fileName: string) => unknown;
}

/** tokenizer.json keys; a head may end before "model", so either marker is enough. */
function looksLikeTokenizer(text: string): boolean {
  return /"model"\s*:/.test(text) && /"(pre_tokenizer|added_tokens)"\s*:/.test(text);
}

/** JSON lines: the first line is a complete JSON object and another object line follows. */
function looksLikeJsonl(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) return false;
  try {
    const first = JSON.parse(lines[0]!) as unknown;
    return typeof first === 'object' && first !== null && lines[1]!.trimStart().startsWith('{');
  } catch {
    return false;
  }
}

/** Text that opens like JSON (after white space): the gate for every text format sniffed by content. */
function opensJson(text: string): boolean {
  const start = text.trimStart()[0];
  return start === '{' || start === '[';
}

const byExtension = (...extensions: string[]) => (context: FileContext) => extensions.includes(context.extension);

/**
 * Every format, in the order matches are tried. By name the claims never overlap except for
 * .json names, where the sharded-checkpoint index and a tokenizer's keys come before plain
 * JSON. By content the binary formats come first, and among text ones JSON lines before a
 * tokenizer before plain JSON.
 */
export const FORMATS: readonly FormatEntry[] = [
  {
    format: 'safetensors',
    match: (c, byContent) => (byContent ? sniffSafetensors(c.head) : byExtension('safetensors')(c)),
    open: readSafetensors,
  },
  // Hugging Face's sharded checkpoints: model.safetensors.index.json maps tensors to shards.
  { format: 'safetensors-index', match: (c, byContent) => !byContent && /\.safetensors\.index\.json$/.test(c.name) },
  {
    format: 'onnx',
    match: (c, byContent) => (byContent ? sniffOnnx(c.head) : byExtension('onnx', 'ort')(c)),
    open: readOnnx,
  },
  // torch.onnx / onnx.save_model name external data freely; ".data" beside ".onnx" is common.
  { format: 'onnx-data', match: (c, byContent) => !byContent && (byExtension('onnx_data')(c) || /\.onnx\.data$/.test(c.name)) },
  {
    format: 'jsonl',
    match: (c, byContent) => (byContent ? opensJson(c.text) && looksLikeJsonl(c.text) : byExtension('jsonl', 'ndjson')(c)),
  },
  { format: 'csv', match: (c, byContent) => !byContent && byExtension('csv', 'tsv')(c) },
  // A name of tokenizer.json (any folder, any case) is a tokenizer; other .json files are
  // tokenizers when their keys say so.
  {
    format: 'tokenizer',
    match: (c, byContent) =>
      byContent ? opensJson(c.text) && looksLikeTokenizer(c.text) : c.name === 'tokenizer.json' || (c.extension === 'json' && looksLikeTokenizer(c.text)),
  },
  { format: 'json', match: (c, byContent) => (byContent ? opensJson(c.text) : c.extension === 'json') },
];

const decoder = new TextDecoder();

function fileContext(fileName: string, head: Uint8Array): FileContext {
  const name = fileName.split(/[\\/]/).pop()!.toLowerCase();
  const dot = name.lastIndexOf('.');
  let text: string | null = null;
  return {
    name,
    extension: dot > 0 ? name.slice(dot + 1) : '',
    head,
    get text() {
      return (text ??= decoder.decode(head).replace(/^\uFEFF/, ''));
    },
  };
}

/** Format of a file from its name and first bytes (`head` may be a prefix of the file). */
export function detectFormat(fileName: string, head: Uint8Array): FileFormat {
  const context = fileContext(fileName, head);
  const entry = FORMATS.find((f) => f.match(context, false)) ?? FORMATS.find((f) => f.match(context, true));
  return entry?.format ?? 'unknown';
}
