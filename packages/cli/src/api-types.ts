/**
 * The shapes the API answers (packages/frontend/src/schemas): only what the CLI reads. The build and
 * step views are `@distci/common`'s, the same for a live and an archived build.
 */
import type { BuildView, QueueView, StepView, WorkerPresence } from '@distci/common';

export type { BuildView, QueueView, StepView, WorkerPresence };

export interface JobSummary {
  name: string;
  etag: string;
  description: string | null;
  repository: string | null;
  steps: number;
}

export interface JobList {
  jobs: JobSummary[];
  next: string | null;
}

export interface StoredJobView {
  name: string;
  etag: string;
  version: string;
  config: Record<string, unknown>;
}

export interface BuildList {
  builds: BuildView[];
  next: number | null;
}

export interface Triggered {
  job: string;
  number: number;
  url: string;
}
