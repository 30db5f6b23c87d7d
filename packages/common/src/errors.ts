/**
 * Every error distci raises has a stable `code` (`DISTCI_…`), an HTTP status where one applies, and a
 * message that says what to do. Check errors by `code` (`isDistciError(err, 'DISTCI_NO_NODE')`), never
 * by `instanceof`: errors cross package and process boundaries.
 *
 * The table below (code: [HTTP status, summary], a line each) is the single source of codes;
 * `docs/errors.md` lists every one of them and a test (`test/errors.test.ts`) fails when they disagree.
 */

const TABLE = {
  // Options and configuration
  DISTCI_BAD_OPTION: [400, 'An option, flag or environment variable has an invalid value.'],
  DISTCI_NO_SANDBOX: [503, 'exec-shell steps must be isolated (--isolation bwrap); bubblewrap is missing or broken.'],
  // Coordination store
  DISTCI_NO_NODE: [404, 'The node does not exist.'],
  DISTCI_NODE_EXISTS: [409, 'A node already exists at that path.'],
  DISTCI_BAD_VERSION: [409, 'The node changed since it was read (version mismatch).'],
  DISTCI_NOT_EMPTY: [409, 'The node has children and cannot be deleted.'],
  DISTCI_NO_CHILDREN_FOR_EPHEMERALS: [400, 'Ephemeral nodes cannot have children.'],
  DISTCI_BAD_PATH: [400, 'A node path or object key is malformed or escapes its root.'],
  DISTCI_CONNECTION_LOSS: [503, "The coordination store's connection was lost; the operation's outcome is unknown."],
  DISTCI_SESSION_EXPIRED: [503, 'The session expired: its ephemeral nodes (claims) and watches are gone.'],
  DISTCI_STORE_CLOSED: [503, 'The store was closed.'],
  DISTCI_COORDINATION_ERROR: [503, 'The coordination store failed in an unexpected way.'],
  DISTCI_NEWER_FORMAT: [500, 'A stored record has a newer format version (`v`) than this release reads.'],
  // Jobs
  DISTCI_INVALID_JOB: [400, 'A job config is invalid; `details.problems` lists each problem with its JSON path.'],
  DISTCI_LOCAL_REPOSITORY: [400, 'A repository URL is a local path or file:// URL; those are not allowed here.'],
  DISTCI_JOB_NOT_FOUND: [404, 'No job with that name.'],
  DISTCI_JOB_EXISTS: [409, 'A job with that name exists (create-only request).'],
  DISTCI_JOB_CHANGED: [412, 'The job changed since the ETag sent in If-Match was read.'],
  DISTCI_BUILD_NOT_FOUND: [404, 'The job has no build with that number.'],
  DISTCI_TRIGGER_CYCLE: [400, "A job's `after` triggers would form a cycle with other jobs' (`details.cycle`)."],
  // Tickets
  DISTCI_TICKET_TOO_LARGE: [400, 'A ticket is larger than a znode should be (4 KiB).'],
  DISTCI_CLAIM_LOST: [409, 'A worker lost its claim (session expired or resumed elsewhere); its result is dropped.'],
  DISTCI_TXN_TOO_LARGE: [500, "A transaction exceeds distci's budget under the coordination store's 1 MiB limit."],
  DISTCI_STORE_RETRIES_EXHAUSTED: [
    503,
    'A write whose answer kept being lost was retried, backing off, then given up.',
  ],
  // Object store
  DISTCI_BLOB_NOT_FOUND: [404, 'No object at that key.'],
  DISTCI_BLOB_CONFLICT: [412, 'A conditional put failed: the object exists (If-None-Match) or changed (If-Match).'],
  DISTCI_BLOB_STORE_ERROR: [503, 'The object store failed in an unexpected way.'],
  // Builds and steps (API)
  DISTCI_STEP_NOT_FOUND: [404, 'The build has no step with that id.'],
  DISTCI_ATTEMPT_NOT_FOUND: [404, 'The step has had no attempt with that number (yet).'],
  DISTCI_RANGE_NOT_SATISFIABLE: [416, 'A byte range or line range starts past the end of the log.'],
  DISTCI_BUILD_FINISHED: [409, 'The build finished already; it cannot be cancelled.'],
  DISTCI_BUILD_NOT_FINISHED: [409, 'The build is still running; only a finished build can be retried.'],
  DISTCI_STEP_NOT_RETRYABLE: [409, 'Only a step that failed can be retried.'],
  DISTCI_ARTIFACT_NOT_FOUND: [404, 'The build has no artifact at that path.'],
  DISTCI_INVALID_PARAMS: [400, "A trigger's params do not match the job's declaration (`details.problems`)."],
  // Secrets and tokens
  DISTCI_SECRET_NOT_FOUND: [404, 'No secret with that name.'],
  DISTCI_SECRETS_DISABLED: [409, 'This process has no secrets key (DISTCI_SECRETS_KEY_FILE) to store or read secrets.'],
  DISTCI_TOKEN_NOT_FOUND: [404, 'No API token with that id.'],
  // HTTP API
  DISTCI_BAD_REQUEST: [400, 'The request does not match the route schema; `details` names the part and path.'],
  DISTCI_JSON_TOO_DEEP: [400, 'A JSON body nests arrays and objects deeper than 64 levels.'],
  DISTCI_UNAUTHORIZED: [401, 'The request needs a valid bearer token.'],
  DISTCI_FORBIDDEN: [403, 'The token is valid but its role or job patterns do not allow this request.'],
  DISTCI_BAD_SIGNATURE: [401, 'A webhook signature (X-Hub-Signature-256) is missing or wrong.'],
  DISTCI_NOT_FOUND: [404, 'No route matches the method and URL.'],
  DISTCI_BODY_TOO_LARGE: [413, "The request body is larger than the route's limit."],
  DISTCI_UNSUPPORTED_MEDIA_TYPE: [415, 'The request body has a content type the route does not take.'],
  DISTCI_RATE_LIMITED: [429, 'Too many requests from this client; wait and retry.'],
  DISTCI_NOT_READY: [503, 'The frontend cannot reach its coordination store or object store.'],
  DISTCI_STORAGE_NOT_INITIALISED: [503, 'The object store has no bucket (or directory) for distci yet.'],
  // Generic
  DISTCI_INTERNAL: [500, 'An unexpected internal error.'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof TABLE;

/** Each code's HTTP status and one-line summary (`docs/errors.md` repeats them; a test compares). */
export const ERROR_CODES = Object.fromEntries(
  Object.entries(TABLE).map(([code, [status, summary]]) => [code, { status, summary }]),
) as { readonly [C in ErrorCode]: { readonly status: number; readonly summary: string } };

export interface DistciErrorOptions {
  /** What to do about it, for people. */
  hint?: string;
  /** Structured details for logs and API clients. */
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Overrides the code's default HTTP status. */
  status?: number;
}

export class DistciError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: DistciErrorOptions = {}) {
    super(options.hint ? `${message} — ${options.hint}` : message, { cause: options.cause });
    this.name = 'DistciError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Makes a DistciError. */
export function distciError(code: ErrorCode, message: string, options?: DistciErrorOptions): DistciError {
  return new DistciError(code, message, options);
}

/** True when `err` carries a distci code (optionally a specific one), whatever realm it came from. */
export function isDistciError(err: unknown, code?: ErrorCode): err is DistciError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !(c in ERROR_CODES)) return false;
  return code === undefined || c === code;
}

/** Turns anything thrown into an Error, so every catch can log `.message` and `.stack`. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const e = new Error(String((err as { message: unknown }).message));
    Object.assign(e, err);
    return e;
  }
  return new Error(String(err));
}
