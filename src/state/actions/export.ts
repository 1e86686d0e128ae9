/**
 * Export action: the engine writes the result file (safetensors by default; see
 * result-export.ts) and the browser downloads it. The mergekit YAML is written here from the
 * engine's recipe (export/recipe.ts). Imports the protocol, the recipe writer, the store,
 * ../download and ./engine, ./message, ./stored-project.
 */
import { DEFAULT_EXPORT, type ExportOptions, type StudioExportKind } from '../../protocol/files';
import { recipeMergekitYaml } from '../../export/recipe';
import { useStudioStore } from '../store';
import { downloadBlob } from '../download';
import { ready } from './engine';
import { message } from './message';
import { rebuildShownResult } from './stored-project';

/** Exports the result (safetensors by default; see result-export.ts) and hands it to the browser as a download. */
export async function exportResult(options: Partial<Omit<ExportOptions, 'kind'>> & { kind?: StudioExportKind } = {}): Promise<void> {
  try {
    // A result reopened from this browser's store has no weights in the engine yet: make them first.
    if (useStudioStore.getState().resultFromStore) await rebuildShownResult();
    const { kind = DEFAULT_EXPORT.kind, ...rest } = options;
    if (kind === 'mergekit-yaml') {
      await exportMergekitYaml({ ...DEFAULT_EXPORT, ...rest });
      return;
    }
    const file = await (await ready()).exportFile({ ...DEFAULT_EXPORT, ...rest, kind });
    downloadBlob(new Blob([file.bytes as BlobPart], { type: 'application/octet-stream' }), file.fileName);
  } catch (err) {
    useStudioStore.setState({ runError: message(err) });
  }
}

/** The run's recipe as a mergekit config; what mergekit cannot express is said (and written at the YAML's top). */
async function exportMergekitYaml(options: ExportOptions): Promise<void> {
  const recipe = await (await ready()).exportFile({ ...options, kind: 'recipe' });
  const yaml = recipeMergekitYaml(JSON.parse(new TextDecoder().decode(recipe.bytes)), recipe.fileName, options.dtype);
  downloadBlob(new Blob([yaml.text], { type: 'application/yaml' }), yaml.fileName);
  if (yaml.problems.length > 0) useStudioStore.setState({ runError: `${yaml.fileName} does not carry everything over to mergekit: ${yaml.problems.join(' ')}` });
}
