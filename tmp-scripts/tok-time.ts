import { readFileSync } from 'node:fs';
import { loadTokenizer } from '../src/eval/tokenize';
const t = loadTokenizer(readFileSync('public/samples/tokenizer.json', 'utf8'), 'tokenizer.json');
console.log(t.encode('hello world').length);
