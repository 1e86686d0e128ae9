/**
 * Model ids on the Hugging Face Hub ("owner/name"), as a model card's base_model expects
 * them: from what the user typed, or from the `_name_or_path` a checkpoint's config.json
 * keeps (transformers writes the id the model was loaded from there — or a local path,
 * which is no id and is left out).
 */

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The id, trimmed, when it has the Hub's owner/name form; null otherwise. */
export function hubModelId(text: string | null | undefined): string | null {
  const id = text?.trim() ?? '';
  return HUB_ID.test(id) && !id.includes('..') ? id : null;
}

/** The Hub id a config.json names, or null (a local path, a missing field, not JSON). */
export function hubIdOfConfig(text: string): string | null {
  try {
    const json = JSON.parse(text) as { _name_or_path?: unknown };
    return typeof json._name_or_path === 'string' ? hubModelId(json._name_or_path) : null;
  } catch {
    return null;
  }
}
