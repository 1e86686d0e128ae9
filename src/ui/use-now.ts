/** The current time (performance.now()), refreshed every intervalMs while enabled: for live timers such as the ETA. */
import { useEffect, useState } from 'react';

export function useNow(intervalMs: number, enabled: boolean): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!enabled) return;
    setNow(performance.now());
    const timer = setInterval(() => setNow(performance.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, enabled]);
  return now;
}
