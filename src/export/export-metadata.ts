/**
 * The `__metadata__` every export carries (studio, CLI merge and evolve alike): the
 * producer, the recipe that re-runs it, the merger, the sources and the compute path,
 * then whatever the caller adds (seed, scores, lineage). Pure module.
 */
import type { ComputePath } from '../protocol/settings';

export const STUDIO_VERSION = '0.1.0';

export interface ExportMetadataParams {
  recipe: object;
  merger: string;
  sources: readonly string[];
  path: ComputePath;
  /** Added after the common entries, in order. */
  extra?: Record<string, string>;
}

export function exportMetadata({ recipe, merger, sources, path, extra = {} }: ExportMetadataParams): Record<string, string> {
  return {
    format: 'pt',
    producer: `evolver-studio ${STUDIO_VERSION}`,
    recipe: JSON.stringify(recipe),
    merger,
    sources: sources.join(','),
    compute_path: path,
    ...extra,
  };
}
