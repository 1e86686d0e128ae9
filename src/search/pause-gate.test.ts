import { describe, expect, it } from 'vitest';
import { PauseGate } from './pause-gate';

describe('PauseGate', () => {
  it('lets callers through at once while open', async () => {
    const gate = new PauseGate();
    let held = false;
    expect(await gate.pass(() => (held = true))).toBe(false);
    expect(held).toBe(false);
  });

  it('holds callers while paused and lets them go on resume', async () => {
    const gate = new PauseGate();
    gate.pause();
    let heldReported = 0;
    let passed = false;
    const passing = gate.pass(() => heldReported++).then((held) => {
      passed = true;
      return held;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(passed).toBe(false);
    expect(heldReported).toBe(1);
    gate.resume();
    expect(await passing).toBe(true);
    expect(gate.paused).toBe(false);
  });

  it('lets a caller go when onHeld itself resumes', async () => {
    const gate = new PauseGate();
    gate.pause();
    expect(await gate.pass(() => gate.resume())).toBe(true);
  });

  it('counts paused time, the pause in progress included, and not the time before or after', () => {
    let now = 1000;
    const gate = new PauseGate(() => now);
    now = 1500;
    gate.pause();
    now = 1800;
    expect(gate.pausedMs).toBe(300);
    gate.pause(); // a second pause while paused does not restart the clock
    now = 2000;
    gate.resume();
    now = 5000;
    expect(gate.pausedMs).toBe(500);
    gate.pause();
    now = 5100;
    gate.resume();
    expect(gate.pausedMs).toBe(600);
  });
});
