/** Studio layout: load → configure → run → results, top to bottom; responsive in styles.css. */
import { useEffect } from 'react';
import { checkStoredProject } from '../state/actions/stored-project';
import { initEngine } from '../state/actions/engine';
import { StorageNote, StoredProjectOffer } from './components/StoredProject';
import { DropZone } from './components/DropZone';
import { DropQuestionPrompt, NewProjectButton } from './components/ProjectControls';
import { ProblemList } from './components/ProblemList';
import { CheckpointTable } from './components/CheckpointTable';
import { GraphMappingPanel } from './components/GraphMappingPanel';
import { DatasetPanel } from './components/DatasetPanel';
import { SettingsForm } from './components/SettingsForm';
import { MergerForm } from './components/MergerForm';
import { RunPanel } from './components/RunPanel';
import { StreamMergePanel } from './components/StreamMergePanel';
import { ResultsPanel } from './components/ResultsPanel';
import { ComputeBadge } from './components/ComputeBadge';
import { FitnessChart } from './charts/FitnessChart';
import { KinshipChart } from './charts/KinshipChart';
import { KinshipHeatmap } from './charts/KinshipHeatmap';
import { AcceptanceChart } from './charts/AcceptanceChart';
import { OffspringScatter } from './charts/OffspringScatter';
import { AcceptedLog } from './charts/AcceptedLog';
import { ThemeToggle } from './components/ThemeToggle';
import { GuidePanel } from './components/GuidePanel';

export function App() {
  useEffect(() => {
    void initEngine();
    void checkStoredProject();
  }, []);
  return (
    <div className="app">
      <header className="app-header">
        <h1>Evolver Studio</h1>
        <p className="tagline">Evolve fine-tuned checkpoints into one model, entirely in your browser.</p>
        <ComputeBadge />
        <ThemeToggle />
      </header>
      <main>
        <section className="card" aria-labelledby="load-title">
          <div className="card-title">
            <h2 id="load-title">1. Checkpoints and dev set</h2>
            <NewProjectButton />
          </div>
          <StoredProjectOffer />
          <DropZone />
          <DropQuestionPrompt />
          <ProblemList />
          <CheckpointTable />
          <GraphMappingPanel />
          <DatasetPanel />
          <KinshipHeatmap />
          <StorageNote />
        </section>
        <section className="card" aria-labelledby="run-title">
          <h2 id="run-title">2. Merge and evolve</h2>
          {/* One column; from 1280 px up the settings and run controls sit beside the charts (styles.css). */}
          <div className="run-layout">
            <div className="run-controls">
              <MergerForm />
              <SettingsForm />
              <RunPanel />
              <StreamMergePanel />
            </div>
            <div className="run-output">
              <div className="charts">
                <FitnessChart />
                <KinshipChart />
                <AcceptanceChart />
                <OffspringScatter />
              </div>
              <AcceptedLog />
            </div>
          </div>
        </section>
        <section className="card" aria-labelledby="result-title">
          <h2 id="result-title">3. Result</h2>
          <ResultsPanel />
        </section>
        <GuidePanel />
      </main>
    </div>
  );
}
