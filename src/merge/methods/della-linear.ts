/** Linear DELLA (mergekit `della_linear`): DELLA's magnitude-ranked drops and L1 rescale, then the weighted sum (see della.ts). */
import { dellaMethod } from './della';

export const dellaLinear = dellaMethod('della_linear', 'Linear DELLA', 'none');
