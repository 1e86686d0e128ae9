/**
 * The files of a drag-and-drop, folders walked: a Hugging Face checkpoint is a folder
 * (index + shards), and its files are only told apart from another checkpoint's by the
 * folder they sit in. Each file is named by its path inside the drop
 * ("expert-a/model-00001-of-00002.safetensors"); files from the picker by their
 * webkitRelativePath when a folder was chosen.
 */

export interface PathedFile {
  path: string;
  file: File;
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walk(entry: FileSystemEntry, out: PathedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: entry.fullPath.replace(/^\//, ''), file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries hands out a directory in batches (100 in Chromium) until it returns none.
  for (let batch = await readEntries(reader); batch.length > 0; batch = await readEntries(reader)) {
    for (const child of batch) await walk(child, out);
  }
}

export async function droppedFiles(data: DataTransfer): Promise<PathedFile[]> {
  // Entries must be taken synchronously, before the first await: the drop's data goes away after.
  const items = Array.from(data.items).filter((i) => i.kind === 'file');
  const entries = items.map((i) => i.webkitGetAsEntry?.() ?? null);
  const plain = items.map((i) => i.getAsFile());
  const out: PathedFile[] = [];
  for (const [k, entry] of entries.entries()) {
    if (entry?.isDirectory) await walk(entry, out);
    else if (plain[k]) out.push({ path: plain[k].name, file: plain[k] });
  }
  return out;
}

export function pickedFiles(list: FileList): PathedFile[] {
  return Array.from(list, (file) => ({ path: file.webkitRelativePath || file.name, file }));
}
