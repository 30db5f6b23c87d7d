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
  /** On a push: env values that look like credentials. */
  warnings?: Array<{ path: string; message: string }>;
}

export interface SecretInfo {
  name: string;
  jobs: string[] | null;
  createdAt: number;
  updatedAt: number;
  createdBy: string | null;
  updatedBy: string | null;
}

export interface TokenInfo {
  id: string;
  role: 'read' | 'trigger' | 'admin';
  jobs: string[] | null;
  description: string | null;
  createdAt: number;
  createdBy: string | null;
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
