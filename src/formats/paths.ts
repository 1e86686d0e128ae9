// Paths of dropped files ("expert-a/model-00001-of-00002.safetensors"): a folder drop names
// each file by its path inside the drop, and side files (shards, external data) are found
// beside the file that names them.

/** "a/b/c.onnx" → "a/b/"; "c.onnx" → "". */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash + 1);
}

/** "a/b/c.onnx" → "c.onnx". */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
