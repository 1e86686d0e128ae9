/** Model breadcrumbs with TIES' sign consensus (mergekit `breadcrumbs_ties`). */
import { breadcrumbsMethod } from './breadcrumbs';

export const breadcrumbsTies = breadcrumbsMethod('breadcrumbs_ties', 'breadcrumbs (TIES)', 'ties');
