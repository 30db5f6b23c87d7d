/** The build view (`readBuild`): the same for a live and an archived build. */
import { Type } from 'typebox';
import { nullable } from './common.js';

const Ms = Type.Number({ description: 'ms since the epoch' });

export const StepViewSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('pending'),
    Type.Literal('success'),
    Type.Literal('failure'),
    Type.Literal('skipped'),
    Type.Literal('cancelled'),
  ]),
  attempt: nullable(Type.Integer()),
  worker: nullable(Type.String()),
  queuedAt: Ms,
  startedAt: nullable(Type.Number()),
  finishedAt: nullable(Type.Number()),
  exitCode: nullable(Type.Integer()),
  reason: nullable(Type.String({ description: 'exit-code | timeout | cancelled | infrastructure' })),
  message: nullable(Type.String()),
  cacheHit: nullable(Type.Boolean()),
  commit: nullable(Type.String()),
  workspace: nullable(Type.String()),
  artifacts: nullable(Type.Integer()),
  logChunks: nullable(Type.Integer()),
  copiedFrom: Type.Optional(Type.Integer({ description: 'a retry copied this step from that build' })),
});

export const TriggerSchema = Type.Object(
  {
    type: Type.String({ description: 'manual | github | after | retry' }),
  },
  { additionalProperties: true },
);

export const BuildViewSchema = Type.Object(
  {
    job: Type.String(),
    number: Type.Integer(),
    status: Type.String({ description: 'queued | running | success | failure | cancelled | error' }),
    live: Type.Boolean({ description: 'true while the build runs (coordination store), false once archived' }),
    trigger: TriggerSchema,
    ref: nullable(Type.String()),
    commit: nullable(Type.String()),
    params: Type.Record(Type.String(), Type.String()),
    createdAt: Ms,
    startedAt: nullable(Type.Number()),
    finishedAt: nullable(Type.Number()),
    cancel: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    error: Type.Optional(Type.String({ description: 'why the build ended `error` when no step says it' })),
    steps: Type.Array(StepViewSchema),
  },
  { description: 'A build, live or archived.' },
);

export const BuildListSchema = Type.Object({
  builds: Type.Array(BuildViewSchema),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'pass as ?before= for the next page' }),
});

export const TriggeredSchema = Type.Object({
  job: Type.String(),
  number: Type.Integer(),
  url: Type.String({ description: 'the build: GET it, or follow its /events' }),
});
