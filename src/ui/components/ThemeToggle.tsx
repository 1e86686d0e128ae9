/** The header's light / dark switch (theme.ts): a toggle button, remembered once pressed. */
import { useEffect, useState } from 'react';
import { applyTheme, chosenTheme, initialTheme, onSystemThemeChange, otherTheme, rememberTheme, resolveTheme } from '../theme';

export function ThemeToggle() {
  const [theme, setTheme] = useState(initialTheme);
  useEffect(() => {
    applyTheme(theme);
  }, [theme]);
  // Until the user chooses, follow the system when it switches (e.g. at dusk).
  useEffect(() => onSystemThemeChange((prefersDark) => setTheme((t) => (chosenTheme() === null ? resolveTheme(null, prefersDark) : t))), []);
  return (
    <button
      type="button"
      className="theme-toggle"
      aria-pressed={theme === 'dark'}
      data-testid="theme-toggle"
      title={`Switch to the ${otherTheme(theme)} theme`}
      onClick={() => {
        const next = otherTheme(theme);
        rememberTheme(next);
        setTheme(next);
      }}
    >
      <span aria-hidden="true">{theme === 'dark' ? '☾' : '☀'}</span> Dark theme
    </button>
  );
}
