/**
 * The job config's schema (TypeBox: plain JSON Schema with a static type): the contract of
 * `POST /api/v1/jobs`, the one source of the `JobConfig` types (`job-config.ts`), of validation
 * (`validate-job.ts`) and of `docs/job-config.schema.json` (`npm run schema`; a test keeps the file
 * equal to `jobSchema`). Field names are stable; new optional fields may be added. Name patterns are
 * the regexes of `keys.ts`.
 */
import { Type } from 'typebox';
import { ENV_NAME, JOB_NAME, LABEL, MATRIX_VALUE, STEP_NAME } from '../keys.js';
import { bareEnum, matching, oneOf, stringMap } from '../schemas/schema-helpers.js';
import { DURATION_PATTERN } from './duration.js';

/** The step types, in the order the docs list them. */
export const STEP_TYPES = ['git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'] as const;

const name = matching(JOB_NAME);
const stepName = matching(STEP_NAME, { description: 'Unique within the job; letters, digits, ".", "_" and "-".' });
const duration = Type.String({ pattern: DURATION_PATTERN, description: 'e.g. 90s, 30m, 1h30m' });
const env = stringMap(ENV_NAME);
const label = matching(LABEL);
const glob = Type.String({ minLength: 1, maxLength: 1024 });
/** Secrets a job or step asks for, by name (`docs/job-config.md#secrets`). */
const secrets = Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }), {
  uniqueItems: true,
  maxItems: 64,
  description: 'Secrets the steps get as environment variables, by name.',
});
const params = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }),
  Type.Object(
    {
      default: Type.Optional(Type.String({ maxLength: 2048 })),
      description: Type.Optional(Type.String({ maxLength: 1000 })),
      choices: Type.Optional(
        Type.Array(Type.String({ maxLength: 2048 }), { minItems: 1, maxItems: 256, uniqueItems: true }),
      ),
    },
    { additionalProperties: false },
  ),
  {
    maxProperties: 64,
    description: 'Build parameters: each step sees each as an environment variable of the same name.',
  },
);

const stepCommon = {
  name: stepName,
  needs: Type.Optional(Type.Array(Type.String(), { uniqueItems: true, description: 'Steps that must succeed first.' })),
  timeout: Type.Optional(duration),
  env: Type.Optional(env),
  priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 })),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
};

export const GitCheckoutStepSchema = Type.Object(
  {
    type: Type.Literal('git-checkout'),
    ...stepCommon,
    ref: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const ExecShellStepSchema = Type.Object(
  {
    type: Type.Literal('exec-shell'),
    ...stepCommon,
    run: Type.String({ minLength: 1, maxLength: 65536 }),
    secrets: Type.Optional(secrets),
    labels: Type.Optional(Type.Array(label, { uniqueItems: true })),
    matrix: Type.Optional(
      Type.Unsafe<Record<string, string[]>>({
        type: 'object',
        minProperties: 1,
        propertyNames: { pattern: ENV_NAME.source },
        additionalProperties: Type.Array(matching(MATRIX_VALUE), { minItems: 1, uniqueItems: true }),
      }),
    ),
  },
  { additionalProperties: false },
);

export const PublishArtifactsStepSchema = Type.Object(
  {
    type: Type.Literal('publish-artifacts'),
    ...stepCommon,
    paths: Type.Array(glob, { minItems: 1 }),
    optional: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

export const CopyArtifactsStepSchema = Type.Object(
  {
    type: Type.Literal('copy-artifacts'),
    ...stepCommon,
    from: Type.Object(
      {
        job: name,
        build: Type.Optional(
          oneOf([Type.Integer({ minimum: 1 }), bareEnum(['lastSuccessful', 'triggering'])], {
            default: 'lastSuccessful',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    paths: Type.Array(glob, { minItems: 1 }),
    into: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    optional: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

/** One step: `type` picks the branch (ajv's discriminator: one clear error for an unknown type). */
export const StepConfigSchema = oneOf(
  [GitCheckoutStepSchema, ExecShellStepSchema, PublishArtifactsStepSchema, CopyArtifactsStepSchema],
  { type: 'object', required: ['name', 'type'], discriminator: { propertyName: 'type' } },
);

export const JobConfigSchema = Type.Object(
  {
    name,
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    repository: Type.Optional(
      Type.Object(
        {
          url: Type.String({ minLength: 1, maxLength: 2048 }),
          ref: Type.Optional(Type.String({ minLength: 1, maxLength: 255, default: 'main' })),
        },
        { additionalProperties: false },
      ),
    ),
    triggers: Type.Optional(
      Type.Object(
        {
          github: Type.Optional(
            Type.Object(
              {
                events: Type.Optional(Type.Array(bareEnum(['push', 'pull_request']), { uniqueItems: true })),
                branches: Type.Optional(Type.Array(glob, { description: 'Branch globs; none means every branch.' })),
                tags: Type.Optional(
                  Type.Array(glob, { description: 'Tag globs (`v*`): pushed tags that build; none means no tag.' }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
          after: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  job: name,
                  on: Type.Optional(bareEnum(['success', 'failure', 'always'], { default: 'success' })),
                },
                { additionalProperties: false },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    env: Type.Optional(env),
    params: Type.Optional(params),
    secrets: Type.Optional(secrets),
    timeout: Type.Optional(duration),
    queueTimeout: Type.Optional(duration),
    concurrency: Type.Optional(
      Type.Object(
        {
          group: Type.String({
            minLength: 1,
            maxLength: 200,
            description:
              'At most one build of this group (across jobs) runs at a time; `{{ job }}` and `{{ ref }}` are replaced, e.g. "deploy-{{ ref }}".',
          }),
          cancelInProgress: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                'true: a new build cancels the older builds of its group ("superseded by #N"); false: it waits for them.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    steps: Type.Array(StepConfigSchema, { minItems: 1, maxItems: 256 }),
  },
  { additionalProperties: false },
);

/** The published document: the schema with its `$schema`, `$id` and title. */
export const jobSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://distci.dev/schemas/job-config.json',
  title: 'distci job config',
  ...JobConfigSchema,
};
