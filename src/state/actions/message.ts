/** The text of a thrown value, for the store's error fields. Imports nothing. */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
