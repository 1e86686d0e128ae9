/**
 * File intake: dropped or picked files, and the bundled sample, handed to the engine. The
 * engine keeps the weights; the store gets the project's summary and problems, and this
 * browser's project store a copy of each accepted file. A recipe among the files sets the
 * run's settings instead, and so does a mergekit YAML config. Imports comlink, the protocol,
 * the recipe parser (export room), the mergekit config reader (merge room), the store, the project store and ./engine, ./persist, ./workspace, ./project, ./message.
 */
import { transfer } from 'comlink';
import { isBlobFile, type NamedBlob, type NamedBytes } from '../../protocol/files';
import { looksLikeRecipe, parseRecipe } from '../../export/recipe';
import { parseMergekitConfig } from '../../merge/mergekit-config';
import { studioMerge } from '../../merge/mergekit-config-studio';
import { useStudioStore } from '../store';
import { forgetFile, storeBase, storeFiles } from '../project-store';
import { ready } from './engine';
import { persist } from './persist';
import { refreshKinship, removeCheckpoint, setBase } from './workspace';
import { startNewProject } from './project';
import { message } from './message';

/** A file a checkpoint is made of (ONNX, safetensors, a shard index). */
const CHECKPOINT_FILE = /\.(onnx|safetensors)$|\.safetensors\.index\.json$/i;

/** Loaded checkpoints the dropped files would replace: same name, or one of its files. */
function clashingCheckpoints(files: readonly (NamedBytes | NamedBlob)[]): string[] {
  const { checkpoints } = useStudioStore.getState().snapshot;
  const names = new Set(files.map((f) => f.name));
  return checkpoints.filter((c) => names.has(c.name) || c.files.some((f) => names.has(f))).map((c) => c.name);
}

function asBlobs(files: readonly (NamedBytes | NamedBlob)[]): NamedBlob[] {
  return files.map((f) => (isBlobFile(f) ? f : { name: f.name, blob: new Blob([f.bytes as BlobPart]) }));
}

/**
 * Sends files to the engine; the ones it accepts are stored (unless they came from the store).
 * A user's drop (ask) is asked about first when it would replace loaded checkpoints, and after,
 * when none of its checkpoints could join the loaded ones: a new project may be what was meant.
 */
export async function addFiles(files: (NamedBytes | NamedBlob)[], { store: keep = true, ask = keep }: { store?: boolean; ask?: boolean } = {}): Promise<void> {
  const store = useStudioStore.getState();
  if (ask) {
    const clashes = clashingCheckpoints(files);
    if (clashes.length > 0) {
      useStudioStore.setState({ dropQuestion: { kind: 'replace', checkpoints: clashes, files: asBlobs(files) } });
      return;
    }
  }
  const hadCheckpoints = store.snapshot.checkpoints.length > 0;
  const droppedCheckpoints = files.filter((f) => CHECKPOINT_FILE.test(f.name));
  // Their buffers go to the worker: keep Blobs to load them again in a new project.
  const retry = ask && hadCheckpoints && droppedCheckpoints.length > 0 ? asBlobs(files) : null;
  store.setLoading(true);
  try {
    const api = await ready();
    // The store keeps Blobs: bytes are copied into one here (their buffers are transferred to
    // the worker next); dropped Files are Blobs already, handed over unread to both.
    const copies = keep && store.storage === 'on' ? files.map((f) => (isBlobFile(f) ? f : { name: f.name, blob: new Blob([f.bytes as BlobPart]) })) : [];
    const buffers = files.flatMap((f) => (isBlobFile(f) ? [] : [f.bytes.buffer as ArrayBuffer]));
    const report = await api.addFiles(transfer(files, buffers));
    useStudioStore.setState({
      snapshot: { checkpoints: report.checkpoints, dataset: report.dataset, tokenizer: report.tokenizer, architecture: report.architecture, graph: report.graph },
      problems: report.problems,
      stored: null,
    });
    const accepted = new Set(report.accepted);
    const kept = copies.filter((f) => accepted.has(f.name));
    if (kept.length > 0) persist(() => storeFiles(kept));
    // A dev or held-out file this drop replaced is no longer part of the project: a reload must not bring it back.
    const before = store.snapshot.dataset;
    const after = report.dataset;
    const replaced = after ? [before?.devFile, before?.heldoutFile].filter((n) => n && n !== after.devFile && n !== after.heldoutFile) : [];
    for (const name of replaced) persist(() => forgetFile(name!));
    const base = report.checkpoints.find((c) => c.isBase)?.name ?? null;
    persist(() => storeBase(base));
    await refreshKinship();
    // Checkpoints that load but are of another architecture: the user may have meant a new project
    // (unreadable files are only listed).
    const mismatched = report.problems.filter((p) => p.mismatch);
    if (retry && mismatched.length > 0 && droppedCheckpoints.every((f) => !accepted.has(f.name))) {
      useStudioStore.setState({ dropQuestion: { kind: 'new-project', reason: mismatched[0]!.message, files: retry } });
    }
  } catch (err) {
    useStudioStore.setState({ problems: [{ fileName: files.map((f) => f.name).join(', '), message: message(err) }] });
  } finally {
    store.setLoading(false);
  }
}

/**
 * The user's answer to a drop question: 'yes' replaces the loaded checkpoints of the same
 * name (replace) or starts a new project with the dropped files (new-project); 'no' loads the
 * drop without the clashing files (replace) or keeps the project as it is (new-project: the
 * refusals stay listed).
 */
export async function answerDropQuestion(answer: 'yes' | 'no'): Promise<void> {
  const question = useStudioStore.getState().dropQuestion;
  if (!question) return;
  useStudioStore.setState({ dropQuestion: null });
  if (question.kind === 'new-project') {
    if (answer === 'no') return;
    await startNewProject();
    await addFiles(question.files, { ask: false });
    return;
  }
  if (answer === 'yes') {
    for (const name of question.checkpoints) await removeCheckpoint(name);
    await addFiles(question.files, { ask: false });
    return;
  }
  const { checkpoints } = useStudioStore.getState().snapshot;
  const clashing = new Set(checkpoints.filter((c) => question.checkpoints.includes(c.name)).flatMap((c) => [c.name, ...c.files]));
  const rest = question.files.filter((f) => !clashing.has(f.name));
  if (rest.length > 0) await addFiles(rest, { ask: false });
}

/** Files from a drop or the picker, named by their path inside the drop (dropped-files.ts). */
export async function addBrowserFiles(list: readonly { path: string; file: File }[]): Promise<void> {
  // JSON files are read here (a recipe sets the run's settings); everything else goes to the
  // engine unread, as Blobs: the worker reads them (safetensors in slices), the page never holds them.
  const files: (NamedBytes | NamedBlob)[] = await Promise.all(list.map(async ({ path, file }) => (/\.(json|ya?ml)$/i.test(path) ? { name: path, bytes: new Uint8Array(await file.arrayBuffer()) } : { name: path, blob: file as Blob })));
  // mergekit configs are matched to the checkpoints: applied once this drop's checkpoints are in.
  const configs = files.filter((f): f is NamedBytes => !isBlobFile(f) && MERGEKIT_CONFIG.test(f.name));
  const data = files.filter((f) => isBlobFile(f) || (!MERGEKIT_CONFIG.test(f.name) && !applyRecipeFile(f)));
  if (data.length > 0) await addFiles(data);
  for (const f of configs) applyMergekitFile(f);
}

/** A mergekit YAML config (mergekit-yaml's input, or a mergekit_config.yml beside a merged model). */
const MERGEKIT_CONFIG = /\.ya?ml$/i;

/**
 * Applies a mergekit config's method and parameters as the merger settings, its base_model as
 * the base; says which of its models are not loaded and what the studio does not carry over.
 */
function applyMergekitFile(file: NamedBytes): void {
  try {
    const config = parseMergekitConfig(new TextDecoder().decode(file.bytes), file.name);
    const { snapshot, settings } = useStudioStore.getState();
    const plan = studioMerge(config, snapshot.checkpoints.map((c) => c.name));
    const problems = [
      ...(plan.missing.length > 0 ? [{ fileName: file.name, message: `${file.name}: not loaded: ${plan.missing.join(', ')} (models are matched to loaded checkpoints by file or folder name). Drop them, then the config again.` }] : []),
      ...plan.notes.map((note) => ({ fileName: file.name, message: `${file.name}: ${note}` })),
    ];
    useStudioStore.setState({ settings: { ...settings, merger: plan.params }, recipeSource: file.name, recipeError: null, problems });
    if (plan.base && plan.base !== snapshot.checkpoints.find((c) => c.isBase)?.name) void setBase(plan.base);
  } catch (err) {
    useStudioStore.setState({ problems: [{ fileName: file.name, message: message(err) }] });
  }
}

/** Data files that are JSON but never recipes: read by the engine. */
const DATA_JSON = /(^|\/)(tokenizer|tokenizer_config|manifest)\.json$/i;

/**
 * If the file is a recipe (the studio's or the CLI's .recipe.json), applies its settings
 * and its base and returns true; a recipe that does not parse is reported by name.
 */
function applyRecipeFile(file: NamedBytes): boolean {
  if (!file.name.toLowerCase().endsWith('.json') || DATA_JSON.test(file.name)) return false;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(file.bytes));
  } catch {
    return false;
  }
  if (!looksLikeRecipe(json)) return false;
  try {
    const recipe = parseRecipe(json, file.name);
    useStudioStore.setState({ settings: recipe.settings, recipeSource: file.name, recipeError: null, problems: [] });
    const { snapshot } = useStudioStore.getState();
    if (recipe.base && snapshot.checkpoints.some((c) => c.name === recipe.base)) void setBase(recipe.base);
  } catch (err) {
    useStudioStore.setState({ problems: [{ fileName: file.name, message: message(err) }] });
  }
  return true;
}

interface SampleManifest {
  tokenizer: string;
  dev: string;
  heldout?: string;
  /** The manifest's "role": "base" entry becomes the base model (workspace reads the manifest). */
  models: { file: string; role: string }[];
}

/** The bundled samples: the spam classifiers (public/samples) and the language models (public/samples/lm). */
export type SampleId = 'classifier' | 'language-model';
const SAMPLE_FOLDERS: Record<SampleId, string> = { classifier: 'samples/', 'language-model': 'samples/lm/' };

/** Loads a bundled sample through the same path as dropped files. */
export async function loadSample(sample: SampleId = 'classifier'): Promise<void> {
  const base = `${import.meta.env.BASE_URL}${SAMPLE_FOLDERS[sample]}`;
  const fetchBytes = async (name: string) => {
    const res = await fetch(base + name);
    if (!res.ok) throw new Error(`${SAMPLE_FOLDERS[sample]}${name}: HTTP ${res.status}`);
    return { name, bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  try {
    const manifestFile = await fetchBytes('manifest.json');
    const manifest = JSON.parse(new TextDecoder().decode(manifestFile.bytes)) as SampleManifest;
    const names = [
      manifest.tokenizer,
      manifest.dev,
      ...(manifest.heldout ? [manifest.heldout] : []),
      ...manifest.models.map((m) => m.file),
    ];
    const files = await Promise.all(names.map(fetchBytes));
    await addFiles([manifestFile, ...files]);
  } catch (err) {
    useStudioStore.setState({ problems: [{ fileName: 'samples', message: message(err) }] });
  }
}
