/**
 * Edits of the loaded project in the engine: the base model, a table's columns, removing a
 * checkpoint, and the kinship heatmap those change. Each result is written to the store and,
 * where it outlives the page, queued for the browser's project store.
 * Imports the protocol, the store, the project store and ./engine, ./persist, ./message.
 */
import type { ColumnChoice } from '../../protocol/project';
import { useStudioStore } from '../store';
import { forgetFile, storeBase, storeColumns } from '../project-store';
import { ready } from './engine';
import { persist } from './persist';
import { message } from './message';

export async function setBase(name: string | null): Promise<void> {
  const snapshot = await (await ready()).setBase(name);
  useStudioStore.setState({ snapshot });
  persist(() => storeBase(name));
  await refreshKinship();
}

/**
 * Reads a CSV/TSV dev or held-out file through other columns. A choice that does not fit is
 * listed under the file's name and changes nothing; a good one clears that file's problem.
 */
export async function setDatasetColumns(fileName: string, choice: ColumnChoice): Promise<void> {
  const others = () => useStudioStore.getState().problems.filter((p) => p.fileName !== fileName);
  try {
    const snapshot = await (await ready()).setDatasetColumns(fileName, choice);
    useStudioStore.setState({ snapshot, problems: others() });
    persist(() => storeColumns(fileName, choice));
  } catch (err) {
    useStudioStore.setState({ problems: [...others(), { fileName, message: message(err) }] });
  }
}

/** Names the task the checkpoints are scored as (null: guess it again); one that does not fit is listed and changes nothing. */
export async function setTask(id: string | null): Promise<void> {
  const others = () => useStudioStore.getState().problems.filter((p) => p.fileName !== 'task');
  try {
    const snapshot = await (await ready()).setTask(id);
    useStudioStore.setState({ snapshot, problems: others() });
  } catch (err) {
    useStudioStore.setState({ problems: [...others(), { fileName: 'task', message: message(err) }] });
  }
}

export async function removeCheckpoint(name: string): Promise<void> {
  const snapshot = await (await ready()).removeCheckpoint(name);
  useStudioStore.setState({ snapshot });
  persist(() => forgetFile(name));
  await refreshKinship();
}

/** Kinship of the checkpoints as loaded (the heatmap before any run); cleared below two models. */
export async function refreshKinship(): Promise<void> {
  const { snapshot } = useStudioStore.getState();
  if (snapshot.checkpoints.filter((c) => !c.isBase).length < 2) {
    useStudioStore.setState({ kinship: null, kinshipGeneration: null, kinshipError: null });
    return;
  }
  try {
    const kinship = await (await ready()).kinship();
    useStudioStore.setState({ kinship, kinshipGeneration: null, kinshipError: null });
  } catch (err) {
    useStudioStore.setState({ kinship: null, kinshipGeneration: null, kinshipError: message(err) });
  }
}
