/**
 * The archived build record (`builds/<job>/<n>/build.json`): everything about a finished build, read
 * by the API and by copy-artifacts. Written once by the control worker before the build's nodes are
 * removed (the same content if written twice: archiving is idempotent).
 */
import type { BuildStatus } from '../types.js';
import type { BuildState, StepState, TriggerInfo } from './build-state.js';

export interface StepRecord extends Omit<StepState, 'v'> {
  id: string;
  name: string;
  type: string;
  needs: string[];
  matrix: Record<string, string> | null;
  labels: string[];
}

export interface BuildRecord {
  v: 1;
  job: string;
  number: number;
  status: Exclude<BuildStatus, 'queued' | 'running'>;
  trigger: TriggerInfo;
  ref: string | null;
  commit: string | null;
  params: Record<string, string>;
  config: BuildState['config'];
  createdAt: number;
  startedAt: number | null;
  finishedAt: number;
  cancel: BuildState['cancel'];
  /** Why a build ended `error` when no step says it (its control ticket gave up): the cause. */
  error?: string;
  steps: StepRecord[];
}
