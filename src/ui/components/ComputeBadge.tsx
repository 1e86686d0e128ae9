/** Shows which compute path is active and lets the user choose one. */
import { useStudioStore } from '../../state/store';
import { initEngine } from '../../state/actions/engine';
import type { ComputePreference } from '../../protocol/settings';

export function ComputeBadge() {
  const environment = useStudioStore((s) => s.environment);
  const preference = useStudioStore((s) => s.preference);
  const running = useStudioStore((s) => s.status === 'running');
  return (
    <div className="compute">
      <span className={`badge ${environment?.path ?? 'pending'}`} data-testid="compute-path" title={environment?.reason}>
        {environment ? (environment.path === 'webgpu' ? 'WebGPU path' : 'WASM path') : 'starting…'}
      </span>
      <span className="muted" data-testid="compute-reason">
        {environment?.reason}
      </span>
      <label>
        Compute{' '}
        <select
          value={preference}
          disabled={running}
          aria-label="Compute path"
          onChange={(e) => {
            useStudioStore.getState().setPreference(e.target.value as ComputePreference);
            void initEngine();
          }}
        >
          <option value="auto">auto</option>
          <option value="webgpu">WebGPU</option>
          <option value="wasm">WASM</option>
        </select>
      </label>
    </div>
  );
}
