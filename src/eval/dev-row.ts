/**
 * One dev or held-out row as parsed from JSONL or CSV, before a task encodes it.
 */
export interface DevRow {
  text?: string;
  inputIds?: number[];
  attentionMask?: number[];
  label: number | string;
  domain?: string;
  /** 1-based line in the source file. */
  line: number;
}
