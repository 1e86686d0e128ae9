/**
 * What a transformers config.json tells the studio: the model's id on the Hugging Face Hub
 * ("owner/name", as a model card's base_model expects it) from the `_name_or_path` it keeps
 * (transformers writes the id the model was loaded from there — or a local path, which is no
 * id and is left out), or from what the user typed; and its label names (`id2label`).
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

/** The label names of a config.json's id2label (0..n-1 in order), or null when it has none, has gaps, or holds only placeholders. */
export function labelsOfConfig(text: string): string[] | null {
  try {
    const id2label = (JSON.parse(text) as { id2label?: unknown }).id2label;
    if (typeof id2label !== 'object' || id2label === null) return null;
    const entries = Object.entries(id2label as Record<string, unknown>);
    const names: string[] = [];
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isSafeInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string') return null;
      names[i] = v;
    }
    if (names.length !== entries.length || names.some((n) => n === undefined)) return null;
    // transformers' placeholders (LABEL_0, LABEL_1, …) name nothing: rows keep their own labels.
    return names.every((n, i) => n === `LABEL_${i}`) ? null : names;
  } catch {
    return null;
  }
}
