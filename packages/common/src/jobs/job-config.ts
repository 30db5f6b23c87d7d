/** The job config's TypeScript shapes, derived from its schema (`job-schema.ts`; `validateJob` is the only way in). */
import type { Static } from 'typebox';
import type {
  CopyArtifactsStepSchema,
  ExecShellStepSchema,
  GitCheckoutStepSchema,
  JobConfigSchema,
  PublishArtifactsStepSchema,
  STEP_TYPES,
} from './job-schema.js';

export type StepType = (typeof STEP_TYPES)[number];
export type GitCheckoutStep = Static<typeof GitCheckoutStepSchema>;
export type ExecShellStep = Static<typeof ExecShellStepSchema>;
export type PublishArtifactsStep = Static<typeof PublishArtifactsStepSchema>;
export type CopyArtifactsStep = Static<typeof CopyArtifactsStepSchema>;
export type StepConfig = GitCheckoutStep | ExecShellStep | PublishArtifactsStep | CopyArtifactsStep;
export type JobConfig = Static<typeof JobConfigSchema>;
/** A declared build parameter (`params` of a job). */
export type ParamDeclaration = NonNullable<JobConfig['params']>[string];
