/**
 * Export action: the engine writes the result file (safetensors by default; see
 * result-export.ts) and the browser downloads it. Imports the protocol, the store,
 * ../download and ./engine, ./message.
 */
import { DEFAULT_EXPORT, type ExportOptions } from '../../protocol/files';
import { useStudioStore } from '../store';
import { downloadBlob } from '../download';
import { ready } from './engine';
import { message } from './message';

/** Exports the result (safetensors by default; see result-export.ts) and hands it to the browser as a download. */
export async function exportResult(options: Partial<ExportOptions> = {}): Promise<void> {
  try {
    const file = await (await ready()).exportFile({ ...DEFAULT_EXPORT, ...options });
    downloadBlob(new Blob([file.bytes as BlobPart], { type: 'application/octet-stream' }), file.fileName);
  } catch (err) {
    useStudioStore.setState({ runError: message(err) });
  }
}
