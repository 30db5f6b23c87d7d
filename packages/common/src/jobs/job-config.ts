/** The job config's TypeScript shape (mirrors `job-schema.ts`; `validateJob` is the only way in). */

export type StepType = 'git-checkout' | 'exec-shell' | 'publish-artifacts' | 'copy-artifacts';
export const STEP_TYPES: readonly StepType[] = ['git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'];

interface StepBase {
  name: string;
  needs?: string[];
  timeout?: string;
  env?: Record<string, string>;
  priority?: number;
  maxAttempts?: number;
}

export interface GitCheckoutStep extends StepBase {
  type: 'git-checkout';
  ref?: string;
}
export interface ExecShellStep extends StepBase {
  type: 'exec-shell';
  run: string;
  secrets?: string[];
  labels?: string[];
  matrix?: Record<string, string[]>;
}
export interface PublishArtifactsStep extends StepBase {
  type: 'publish-artifacts';
  paths: string[];
  optional?: boolean;
}
export interface CopyArtifactsStep extends StepBase {
  type: 'copy-artifacts';
  from: { job: string; build?: number | 'lastSuccessful' | 'triggering' };
  paths: string[];
  into?: string;
  optional?: boolean;
}
export type StepConfig = GitCheckoutStep | ExecShellStep | PublishArtifactsStep | CopyArtifactsStep;

/** A declared build parameter (`params` of a job). */
export interface ParamDeclaration {
  default?: string;
  description?: string;
  choices?: string[];
}

export interface JobConfig {
  name: string;
  description?: string;
  repository?: { url: string; ref?: string };
  triggers?: {
    github?: { events?: Array<'push' | 'pull_request'>; branches?: string[] };
    after?: Array<{ job: string; on?: 'success' | 'failure' | 'always' }>;
  };
  env?: Record<string, string>;
  params?: Record<string, ParamDeclaration>;
  secrets?: string[];
  timeout?: string;
  /** How long a step's ticket may wait for a worker before the step fails (`timeout`). */
  queueTimeout?: string;
  steps: StepConfig[];
}
