/** The build view's schemas: `@distci/common`'s (the same definitions the workers and the CLI use). */
export { BuildListSchema, BuildViewSchema, StepViewSchema, TriggeredSchema, TriggerSchema } from '@distci/common';
