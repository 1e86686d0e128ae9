/**
 * Light and dark themes: the system's choice (prefers-color-scheme) until the user picks
 * one in the header, which is then remembered in localStorage. The theme is set as
 * <html data-theme>, which styles.css reads; it is applied before the first render
 * (main.tsx) so the page never flashes the other theme.
 */
export type Theme = 'light' | 'dark';

export const THEME_STORAGE_KEY = 'evolver-studio.theme';

/** A stored value as a theme; anything else (missing, from an older version, edited by hand) is no choice. */
export function parseTheme(value: string | null | undefined): Theme | null {
  return value === 'light' || value === 'dark' ? value : null;
}

export function resolveTheme(chosen: Theme | null, systemPrefersDark: boolean): Theme {
  return chosen ?? (systemPrefersDark ? 'dark' : 'light');
}

export function otherTheme(theme: Theme): Theme {
  return theme === 'dark' ? 'light' : 'dark';
}

const DARK_QUERY = '(prefers-color-scheme: dark)';

export function systemPrefersDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia(DARK_QUERY).matches;
}

/** Calls back when the system theme changes; returns the unsubscribe. */
export function onSystemThemeChange(callback: (prefersDark: boolean) => void): () => void {
  if (typeof matchMedia !== 'function') return () => {};
  const query = matchMedia(DARK_QUERY);
  const listener = (e: MediaQueryListEvent) => callback(e.matches);
  query.addEventListener('change', listener);
  return () => query.removeEventListener('change', listener);
}

/** The user's stored choice; null when none, or when storage is blocked (private mode, policies). */
export function chosenTheme(): Theme | null {
  try {
    return parseTheme(localStorage.getItem(THEME_STORAGE_KEY));
  } catch {
    return null;
  }
}

export function rememberTheme(theme: Theme): void {
  try {
    localStorage.setItem(THEME_STORAGE_KEY, theme);
  } catch {
    // Not remembered across visits; the toggle still works for this page.
  }
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}

export function initialTheme(): Theme {
  return resolveTheme(chosenTheme(), systemPrefersDark());
}
