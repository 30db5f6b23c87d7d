/**
 * The job config's JSON Schema: the contract of `POST /api/v1/jobs`. Published as
 * `docs/job-config.schema.json` (a test keeps the file equal to this object).
 * Field names are stable; new optional fields may be added.
 */
import { DURATION_PATTERN } from './duration.js';

const name = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,99}$' } as const;
const stepName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
  description: 'Unique within the job; letters, digits, ".", "_" and "-".',
} as const;
const duration = { type: 'string', pattern: DURATION_PATTERN, description: 'e.g. 90s, 30m, 1h30m' } as const;
const env = {
  type: 'object',
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
  additionalProperties: { type: 'string' },
} as const;
/** Secrets a job or step asks for, by name (`docs/job-config.md#secrets`). */
const secrets = {
  type: 'array',
  items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
  uniqueItems: true,
  maxItems: 64,
  description: 'Secrets the steps get as environment variables, by name.',
} as const;
const params = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    properties: {
      default: { type: 'string', maxLength: 2048 },
      description: { type: 'string', maxLength: 1000 },
      choices: {
        type: 'array',
        minItems: 1,
        maxItems: 256,
        uniqueItems: true,
        items: { type: 'string', maxLength: 2048 },
      },
    },
  },
  description: 'Build parameters: each step sees each as an environment variable of the same name.',
} as const;
const label = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' } as const;
const glob = { type: 'string', minLength: 1, maxLength: 1024 } as const;

const stepCommon = {
  name: stepName,
  needs: { type: 'array', items: { type: 'string' }, uniqueItems: true, description: 'Steps that must succeed first.' },
  timeout: duration,
  env,
  priority: { type: 'integer', minimum: 0, maximum: 9 },
  maxAttempts: { type: 'integer', minimum: 1, maximum: 10 },
} as const;

export const jobSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://distci.dev/schemas/job-config.json',
  title: 'distci job config',
  type: 'object',
  required: ['name', 'steps'],
  additionalProperties: false,
  properties: {
    name,
    description: { type: 'string', maxLength: 1000 },
    repository: {
      type: 'object',
      required: ['url'],
      additionalProperties: false,
      properties: {
        url: { type: 'string', minLength: 1, maxLength: 2048 },
        ref: { type: 'string', minLength: 1, maxLength: 255, default: 'main' },
      },
    },
    triggers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        github: {
          type: 'object',
          additionalProperties: false,
          properties: {
            events: { type: 'array', items: { enum: ['push', 'pull_request'] }, uniqueItems: true },
            branches: { type: 'array', items: glob, description: 'Branch globs; none means every branch.' },
          },
        },
        after: {
          type: 'array',
          items: {
            type: 'object',
            required: ['job'],
            additionalProperties: false,
            properties: { job: name, on: { enum: ['success', 'failure', 'always'], default: 'success' } },
          },
        },
      },
    },
    env,
    params,
    secrets,
    timeout: duration,
    queueTimeout: duration,
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: 256,
      items: {
        type: 'object',
        required: ['name', 'type'],
        discriminator: { propertyName: 'type' },
        oneOf: [
          {
            additionalProperties: false,
            properties: {
              type: { const: 'git-checkout' },
              ...stepCommon,
              ref: { type: 'string', minLength: 1, maxLength: 255 },
            },
          },
          {
            additionalProperties: false,
            required: ['run'],
            properties: {
              type: { const: 'exec-shell' },
              ...stepCommon,
              run: { type: 'string', minLength: 1, maxLength: 65536 },
              secrets,
              labels: { type: 'array', items: label, uniqueItems: true },
              matrix: {
                type: 'object',
                minProperties: 1,
                propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                additionalProperties: {
                  type: 'array',
                  minItems: 1,
                  items: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
                  uniqueItems: true,
                },
              },
            },
          },
          {
            additionalProperties: false,
            required: ['paths'],
            properties: {
              type: { const: 'publish-artifacts' },
              ...stepCommon,
              paths: { type: 'array', minItems: 1, items: glob },
              optional: { type: 'boolean', default: false },
            },
          },
          {
            additionalProperties: false,
            required: ['from', 'paths'],
            properties: {
              type: { const: 'copy-artifacts' },
              ...stepCommon,
              from: {
                type: 'object',
                required: ['job'],
                additionalProperties: false,
                properties: {
                  job: name,
                  build: {
                    oneOf: [{ type: 'integer', minimum: 1 }, { enum: ['lastSuccessful', 'triggering'] }],
                    default: 'lastSuccessful',
                  },
                },
              },
              paths: { type: 'array', minItems: 1, items: glob },
              into: { type: 'string', minLength: 1, maxLength: 1024 },
              optional: { type: 'boolean', default: false },
            },
          },
        ],
      },
    },
  },
} as const;
