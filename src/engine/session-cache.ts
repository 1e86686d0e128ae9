/**
 * One onnxruntime session, kept across runs: the graph with its evolved weights turned into
 * inputs (and, for a language model, its per-row log-likelihood head: eval/evaluator scoringGraph),
 * keyed by path, task, checkpoint and the set of fed tensors, so a run creates no session when
 * the previous one fits (the run report counts sessions created during a run: 0).
 */
import { weightsToInputs } from '../formats/onnx-rewrite';
import { WeightFedSession } from '../eval/ort';
import { scoringGraph } from '../eval/evaluator';
import type { ParameterLayout } from '../merge/layout';
import type { Checkpoint } from '../project/workspace';
import type { ComputePath } from '../protocol/settings';

export class SessionCache {
  private entry: { key: string; session: WeightFedSession } | null = null;

  async sessionFor(checkpoint: Checkpoint, layout: ParameterLayout, path: ComputePath, device: GPUDevice | undefined, taskId: string): Promise<WeightFedSession> {
    const key = `${path}|${taskId}|${checkpoint.name}|${layout.slots.map((s) => s.name).join(',')}`;
    if (this.entry?.key === key) return this.entry.session;
    await this.release();
    const names = new Set(layout.slots.map((s) => s.name));
    const session = await WeightFedSession.create({
      modelBytes: weightsToInputs(scoringGraph(taskId, checkpoint.bytes, checkpoint.name), names),
      path,
      device,
      weights: layout.slots.map((s) => ({ name: s.name, dims: s.dims })),
    });
    this.entry = { key, session };
    return session;
  }

  async release(): Promise<void> {
    const entry = this.entry;
    this.entry = null;
    await entry?.session.release();
  }
}
