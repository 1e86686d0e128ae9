/** DARE with a plain sum (mergekit `dare_linear`): random drop, rescale, base + λ·Σ w_i τ̃_i. */
import { dareMethod } from './dare';

export const dareLinear = dareMethod('dare_linear', 'DARE (linear)', 'none');
