/** DARE with TIES' sign consensus (mergekit `dare_ties`). */
import { dareMethod } from './dare';

export const dareTies = dareMethod('dare_ties', 'DARE (TIES)', 'ties');
