/**
 * The build view (`readBuild`, `GET /api/v1/jobs/:job/builds/:number`, its `/events`): the same for a
 * live and an archived build. The frontend's routes answer with these schemas and the CLI reads the
 * same types; `BuildView` and `StepView` are derived from them.
 */
import { type Static, Type } from 'typebox';
import type { BuildState, TriggerInfo } from '../builds/build-state.js';
import { BUILD_STATUSES, FAILURE_REASONS } from '../types.js';
import { nullable, stringEnum } from './schema-helpers.js';

const Ms = Type.Number({ description: 'ms since the epoch' });

/** A step's status in the view: its state's, plus `running` (claimed) and `pending` (waits for needs). */
export const STEP_VIEW_STATUSES = [
  'queued',
  'running',
  'pending',
  'success',
  'failure',
  'skipped',
  'cancelled',
] as const;

export const StepViewSchema = Type.Object({
  id: Type.String(),
  status: stringEnum(STEP_VIEW_STATUSES),
  attempt: nullable(Type.Integer()),
  worker: nullable(Type.String()),
  queuedAt: Ms,
  startedAt: nullable(Type.Number()),
  finishedAt: nullable(Type.Number()),
  exitCode: nullable(Type.Integer()),
  reason: nullable(stringEnum(FAILURE_REASONS)),
  message: nullable(Type.String()),
  cacheHit: nullable(Type.Boolean()),
  commit: nullable(Type.String()),
  workspace: nullable(Type.String()),
  artifacts: nullable(Type.Integer()),
  logChunks: nullable(Type.Integer()),
  copiedFrom: Type.Optional(Type.Integer({ description: 'a retry copied this step from that build' })),
  waiting: Type.Optional(
    Type.String({
      description:
        'why a queued step is not running yet (live builds): "no live exec-shell worker has labels gpu", "all 2 exec-shell worker(s) that can serve it are busy"',
    }),
  ),
});

/** What started a build (`TriggerInfo`); serialized whole. */
export const TriggerSchema = Type.Unsafe<TriggerInfo>(
  Type.Object(
    { type: stringEnum(['manual', 'github', 'after', 'retry']) },
    { additionalProperties: true, description: 'manual | github | after | retry, with its details' },
  ),
);

export const BuildViewSchema = Type.Object(
  {
    job: Type.String(),
    number: Type.Integer({ description: 'The build number: 1, 2, 3… per job.' }),
    status: stringEnum(BUILD_STATUSES),
    live: Type.Boolean({ description: 'true while the build runs (coordination store), false once archived' }),
    trigger: TriggerSchema,
    ref: nullable(Type.String()),
    commit: nullable(Type.String()),
    params: Type.Record(Type.String(), Type.String()),
    createdAt: Ms,
    startedAt: nullable(Type.Number()),
    finishedAt: nullable(Type.Number()),
    cancel: Type.Unsafe<BuildState['cancel']>(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    ),
    error: Type.Optional(Type.String({ description: 'why the build ended `error` when no step says it' })),
    waiting: Type.Optional(
      Type.String({
        description:
          'why a queued build does not start yet: "waiting for #N of group \'deploy-main\'" (job `concurrency`)',
      }),
    ),
    steps: Type.Array(StepViewSchema),
  },
  { description: 'A build, live or archived.' },
);

export const BuildListSchema = Type.Object({
  builds: Type.Array(BuildViewSchema),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'pass as ?before= for the next page' }),
});

/** The answer to a trigger or a retry: the new build. */
export const TriggeredSchema = Type.Object({
  job: Type.String(),
  number: Type.Integer(),
  url: Type.String({ description: 'the build: GET it, or follow its /events' }),
});

export type StepView = Static<typeof StepViewSchema>;
export type BuildView = Static<typeof BuildViewSchema>;
export type BuildList = Static<typeof BuildListSchema>;
export type Triggered = Static<typeof TriggeredSchema>;
