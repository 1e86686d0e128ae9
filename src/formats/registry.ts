// Maps a dropped file to the reader that should open it: by extension first, then by
// the first bytes when the name says nothing. Works on a head (the first 64 KB is
// enough) so the UI can classify large files before reading them whole.

import { sniffOnnx } from './onnx';
import { sniffSafetensors } from './safetensors';

export type FileFormat = 'onnx' | 'onnx-data' | 'safetensors' | 'safetensors-index' | 'jsonl' | 'csv' | 'tokenizer' | 'json' | 'unknown';

const BY_EXTENSION: Readonly<Record<string, FileFormat>> = {
  onnx: 'onnx',
  ort: 'onnx',
  onnx_data: 'onnx-data',
  safetensors: 'safetensors',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  csv: 'csv',
  tsv: 'csv',
};

const decoder = new TextDecoder();

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

function sniffText(head: Uint8Array): FileFormat {
  const text = decoder.decode(head).replace(/^\uFEFF/, '');
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return 'unknown';
  if (looksLikeJsonl(text)) return 'jsonl';
  return looksLikeTokenizer(text) ? 'tokenizer' : 'json';
}

/**
 * Format of a file from its name and first bytes (`head` may be a prefix of the file).
 * A name of tokenizer.json (any folder, any case) is a tokenizer; other .json files are
 * tokenizers when their keys say so.
 */
export function detectFormat(fileName: string, head: Uint8Array): FileFormat {
  const base = fileName.split(/[\\/]/).pop()!.toLowerCase();
  if (base === 'tokenizer.json') return 'tokenizer';
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot + 1) : '';
  const known = BY_EXTENSION[ext];
  if (known) return known;
  // torch.onnx / onnx.save_model name external data freely; ".data" beside ".onnx" is common.
  if (/\.onnx\.data$/.test(base)) return 'onnx-data';
  // Hugging Face's sharded checkpoints: model.safetensors.index.json maps tensors to shards.
  if (/\.safetensors\.index\.json$/.test(base)) return 'safetensors-index';
  if (ext === 'json') {
    return looksLikeTokenizer(decoder.decode(head)) ? 'tokenizer' : 'json';
  }
  if (sniffSafetensors(head)) return 'safetensors';
  if (sniffOnnx(head)) return 'onnx';
  return sniffText(head);
}
