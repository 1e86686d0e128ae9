/**
 * Every merge method, in the order the studio and the CLI list them. Adding a method is
 * adding its file in this folder and one line here; everything else reads the entry.
 */
import type { MergeMethodDef } from '../method';
import { linear } from './linear';
import { taskArithmetic } from './task-arithmetic';
import { ties } from './ties';
import { dareLinear } from './dare-linear';
import { dareTies } from './dare-ties';
import { slerp } from './slerp';
import { modelStock } from './model-stock';
import { regmean } from './regmean';
import { fisher } from './fisher';
import { breadcrumbs } from './breadcrumbs';
import { breadcrumbsTies } from './breadcrumbs-ties';
import { della } from './della';
import { dellaLinear } from './della-linear';
import { sce } from './sce';
import { nuslerp } from './nuslerp';
import { multislerp } from './multislerp';
import { karcher } from './karcher';

export const MERGE_METHODS: readonly MergeMethodDef[] = [
  linear,
  taskArithmetic,
  ties,
  dareLinear,
  dareTies,
  slerp,
  modelStock,
  regmean,
  fisher,
  breadcrumbs,
  breadcrumbsTies,
  della,
  dellaLinear,
  sce,
  nuslerp,
  multislerp,
  karcher,
];
