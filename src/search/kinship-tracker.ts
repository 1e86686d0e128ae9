/**
 * Kinship as a run goes: the population's pairwise task-vector kinship per generation, with
 * its GPU read-back (moments, never weights) counted apart.
 */
import { gpuTransferCounters } from '../gpu/buffers';
import type { PopulationStore } from '../population/population';
import type { ProgressEvent } from '../protocol/events';
import type { KinshipReport, WeightSetId } from '../protocol/results';
import { kinshipReport } from './kinship';

/**
 * Kinship during a run: task vectors from the base when one is marked, else from the
 * checkpoints' mean as loaded. Counts its read-back (moments, not weights) apart from the
 * weight counter, and keeps the last report for the result.
 */
export class KinshipTracker {
  bytesReadBack = 0;
  last: KinshipReport | null = null;
  private readonly reference: KinshipReport['reference'];

  constructor(
    private readonly store: PopulationStore,
    baseName: string | null,
    private readonly onProgress: (event: ProgressEvent) => void,
  ) {
    this.reference = store.hasBase && baseName ? { kind: 'base', label: `task vectors from ${baseName}` } : { kind: 'population-mean', label: 'task vectors from the mean of the loaded checkpoints (no base marked)' };
  }

  /** The report over some sets; emitted as the heatmap (and kept) when generation is not null. */
  async matrix(sets: readonly WeightSetId[], names: readonly string[], generation: number | null): Promise<KinshipReport> {
    const before = gpuTransferCounters.bytesReadBack;
    const moments = await this.store.kinshipMoments(sets, this.store.hasBase ? 'base' : 'initial-mean');
    this.bytesReadBack += gpuTransferCounters.bytesReadBack - before;
    const report = kinshipReport(names, this.store.layout, moments, this.reference);
    if (generation !== null) {
      this.last = report;
      this.onProgress({ type: 'kinship', generation, report });
    }
    return report;
  }
}
