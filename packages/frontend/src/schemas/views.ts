/** The workers and queue views' schemas: `@distci/common`'s (the CLI reads the same types). */
export { QueueEntrySchema, QueueViewSchema, WorkerListSchema, WorkerSchema } from '@distci/common';
