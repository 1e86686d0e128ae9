import { test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { dotNormsProductsWgsl, dotNormsSumWgsl } from './dot-norms/dot-norms.wgsl';
import { accumulateWgsl, voteWgsl } from './task-vector/task-vector.wgsl';
test('dump', () => {
  const parts = [dotNormsProductsWgsl(true), dotNormsProductsWgsl(false), dotNormsSumWgsl(), dotNormsProductsWgsl(true, 64, 2), dotNormsSumWgsl(32, 3)];
  for (const k of ['plain', 'delta', 'trim', 'dare'] as const) parts.push(accumulateWgsl(k), accumulateWgsl(k, 64));
  for (const k of ['delta', 'trim', 'dare'] as const) parts.push(voteWgsl(k), voteWgsl(k, 64));
  writeFileSync(process.env.DUMP_OUT!, parts.join('\n=====\n'));
});
