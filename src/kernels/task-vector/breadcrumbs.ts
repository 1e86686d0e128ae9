/**
 * Breadcrumbs on the GPU, twin of breadcrumbs.cpu.ts: per model, two top-k selects into the
 * scratch's cut table (slot 2i: the outer cut, slot 2i + 1: the outliers), then the shared
 * task-vector passes over the 'band' contribution: accumulate + finalize (breadcrumbs) or
 * the sign-consensus sequence (breadcrumbs_ties). Recorded into the caller's encoder.
 */
import type { EncodeOptions } from '../../gpu/elementwise';
import { KernelParamsError } from '../errors';
import { breadcrumbsCounts, type BreadcrumbsParams } from './breadcrumbs.cpu';
import { encodeTopKMagnitude } from './magnitude-select';
import { checkLambda, isDensity, resolvePerModel, resolveWeights, sumScale } from './params';
import { checkBuffers, encodeAccumulate, encodeConsensus, encodeFinalize, type MergeScratch } from './task-vector-passes';

/** Cut slots per model: the band's outer cut and its outlier cut. */
export const BREADCRUMBS_CUTS_PER_MODEL = 2;

/** Record breadcrumbs; scratch from createMergeScratch(…, BREADCRUMBS_CUTS_PER_MODEL). */
export function encodeBreadcrumbs(
  device: GPUDevice,
  encoder: GPUCommandEncoder,
  models: readonly GPUBuffer[],
  base: GPUBuffer,
  out: GPUBuffer,
  elementCount: number,
  params: BreadcrumbsParams,
  scratch: MergeScratch,
  opts: EncodeOptions = {},
): void {
  const where = 'task-vector/breadcrumbs.ts';
  checkBuffers(where, models, base, out, elementCount, scratch);
  if (scratch.table.slots < BREADCRUMBS_CUTS_PER_MODEL * models.length) {
    throw new KernelParamsError(`${where}: the scratch's cut table has ${scratch.table.slots} slots, needs ${BREADCRUMBS_CUTS_PER_MODEL * models.length}`);
  }
  const consensus = params.consensus ?? 'none';
  if (consensus !== 'none' && consensus !== 'ties') throw new KernelParamsError(`${where}: consensus must be 'none' or 'ties', got ${String(consensus)}`);
  const weights = resolveWeights(params.weights, models.length, where);
  const densities = resolvePerModel(params.density, 1, models.length, isDensity, 'density', where);
  const gammas = resolvePerModel(params.gamma, 0.01, models.length, isDensity, 'gamma', where);
  const lambda = checkLambda(params.lambda ?? 1, where);
  const normalize = params.normalize ?? false;
  models.forEach((m, i) => {
    const { outer, outliers } = breadcrumbsCounts(densities[i]!, gammas[i]!, elementCount);
    encodeTopKMagnitude(device, encoder, m, base, elementCount, outer, scratch.table, BREADCRUMBS_CUTS_PER_MODEL * i, opts);
    encodeTopKMagnitude(device, encoder, m, base, elementCount, outliers, scratch.table, BREADCRUMBS_CUTS_PER_MODEL * i + 1, opts);
  });
  const fields = (i: number, first: boolean) => ({ weight: weights[i]!, first, slot: BREADCRUMBS_CUTS_PER_MODEL * i });
  if (consensus === 'ties') {
    encodeConsensus(device, encoder, 'band', models, base, out, elementCount, scratch, fields, lambda, normalize, opts, params.vote ?? 'sum');
  } else {
    models.forEach((m, i) => encodeAccumulate(device, encoder, 'band', out, m, base, scratch.table, elementCount, fields(i, i === 0), opts));
    encodeFinalize(device, encoder, 'base', [out, base], elementCount, sumScale(weights, lambda, normalize), false, opts);
  }
}
