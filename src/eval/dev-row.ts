/**
 * One dev or held-out row as parsed from JSONL or CSV, before a task encodes it. Which fields a
 * row must carry is the task's to say (eval/tasks): a classifier needs `label`, a causal LM only
 * text or ids, multiple choice a context and choices, token classification words and tags.
 */
export interface DevRow {
  text?: string;
  inputIds?: number[];
  attentionMask?: number[];
  /** A class index or name (classification, multiple choice: the right choice) or a number (regression). */
  label?: number | string;
  domain?: string;
  /** Multiple choice: the text the choices continue. */
  context?: string;
  /** Multiple choice: the candidate continuations. */
  choices?: string[];
  /** Token classification: the words of the row. */
  tokens?: string[];
  /** Token classification: one tag (name or index) per word. */
  tags?: (string | number)[];
  /** Token classification, pre-tokenized: one label index per input id, -100 where none. */
  tokenLabels?: number[];
  /** 1-based line in the source file. */
  line: number;
}
