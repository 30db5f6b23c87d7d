/**
 * Every error distci raises has a stable `code` (`DISTCI_…`), an HTTP status where one applies, and a
 * message that says what to do. Check errors by `code` (`isDistciError(err, 'DISTCI_NO_NODE')`), never
 * by `instanceof`: errors cross package and process boundaries.
 *
 * The table below is the single source of codes; `docs/errors.md` lists every one of them and a test
 * (`test/errors.test.ts`) fails when the docs and this table disagree.
 */

export const ERROR_CODES = {
  // Options and configuration
  DISTCI_BAD_OPTION: { status: 400, summary: 'An option, flag or environment variable has an invalid value.' },
  DISTCI_NO_SANDBOX: {
    status: 503,
    summary:
      'An exec-shell worker must isolate its steps (--isolation bwrap) but bubblewrap is missing or does not work.',
  },
  // Coordination store
  DISTCI_NO_NODE: { status: 404, summary: 'The node does not exist.' },
  DISTCI_NODE_EXISTS: { status: 409, summary: 'A node already exists at that path.' },
  DISTCI_BAD_VERSION: { status: 409, summary: 'The node changed since it was read (version mismatch).' },
  DISTCI_NOT_EMPTY: { status: 409, summary: 'The node has children and cannot be deleted.' },
  DISTCI_NO_CHILDREN_FOR_EPHEMERALS: { status: 400, summary: 'Ephemeral nodes cannot have children.' },
  DISTCI_BAD_PATH: { status: 400, summary: 'A node path or object key is malformed or escapes its root.' },
  DISTCI_CONNECTION_LOSS: {
    status: 503,
    summary: 'The connection to the coordination store was lost; the outcome of the operation is unknown.',
  },
  DISTCI_SESSION_EXPIRED: {
    status: 503,
    summary: 'The session expired: its ephemeral nodes (claims) are gone and its watches are dropped.',
  },
  DISTCI_STORE_CLOSED: { status: 503, summary: 'The store was closed.' },
  DISTCI_COORDINATION_ERROR: { status: 503, summary: 'The coordination store failed in an unexpected way.' },
  // Jobs
  DISTCI_INVALID_JOB: {
    status: 400,
    summary: 'A job config is invalid; `details.problems` lists each problem with its JSON path.',
  },
  DISTCI_LOCAL_REPOSITORY: {
    status: 400,
    summary: 'A repository URL is a local path or file:// URL, and this system does not allow local repositories.',
  },
  DISTCI_JOB_NOT_FOUND: { status: 404, summary: 'No job with that name.' },
  DISTCI_JOB_EXISTS: { status: 409, summary: 'A job with that name exists (create-only request).' },
  DISTCI_JOB_CHANGED: { status: 412, summary: 'The job changed since the ETag sent in If-Match was read.' },
  DISTCI_BUILD_NOT_FOUND: { status: 404, summary: 'The job has no build with that number.' },
  DISTCI_TRIGGER_CYCLE: {
    status: 400,
    summary: "A job's `after` triggers would form a cycle with other jobs' (`details.cycle` names it).",
  },
  // Tickets
  DISTCI_TICKET_TOO_LARGE: { status: 400, summary: 'A ticket is larger than a znode should be (4 KiB).' },
  DISTCI_CLAIM_LOST: {
    status: 409,
    summary: 'A worker lost its claim (session expired or ticket resumed elsewhere); its result was not recorded.',
  },
  DISTCI_TXN_TOO_LARGE: {
    status: 500,
    summary: "A transaction is larger than distci's budget under the coordination store's 1 MiB packet limit.",
  },
  DISTCI_STORE_RETRIES_EXHAUSTED: {
    status: 503,
    summary: 'A write whose answer kept being lost was retried (with backoff) as often as allowed, then given up.',
  },
  // Object store
  DISTCI_BLOB_NOT_FOUND: { status: 404, summary: 'No object at that key.' },
  DISTCI_BLOB_CONFLICT: {
    status: 412,
    summary: 'A conditional put failed: the object exists (If-None-Match) or changed (If-Match).',
  },
  DISTCI_BLOB_STORE_ERROR: { status: 503, summary: 'The object store failed in an unexpected way.' },
  // Builds and steps (API)
  DISTCI_STEP_NOT_FOUND: { status: 404, summary: 'The build has no step with that id.' },
  DISTCI_ATTEMPT_NOT_FOUND: { status: 404, summary: 'The step has had no attempt with that number (yet).' },
  DISTCI_RANGE_NOT_SATISFIABLE: {
    status: 416,
    summary: 'A byte range or line range starts past the end of the log.',
  },
  DISTCI_BUILD_FINISHED: { status: 409, summary: 'The build finished already; it cannot be cancelled.' },
  DISTCI_BUILD_NOT_FINISHED: {
    status: 409,
    summary: 'The build is still running; only a finished build can be retried.',
  },
  DISTCI_STEP_NOT_RETRYABLE: { status: 409, summary: 'Only a step that failed can be retried.' },
  DISTCI_ARTIFACT_NOT_FOUND: { status: 404, summary: 'The build has no artifact at that path.' },
  DISTCI_INVALID_PARAMS: {
    status: 400,
    summary: "A trigger's params do not match the job's declaration; `details.problems` names each one.",
  },
  // Secrets and tokens
  DISTCI_SECRET_NOT_FOUND: { status: 404, summary: 'No secret with that name.' },
  DISTCI_SECRETS_DISABLED: {
    status: 409,
    summary: 'This process has no secrets key (DISTCI_SECRETS_KEY_FILE), so it cannot store or read secrets.',
  },
  DISTCI_TOKEN_NOT_FOUND: { status: 404, summary: 'No API token with that id.' },
  // HTTP API
  DISTCI_BAD_REQUEST: {
    status: 400,
    summary: 'The request does not match the route schema; `details` names the part and the schema path.',
  },
  DISTCI_JSON_TOO_DEEP: { status: 400, summary: 'A JSON body nests arrays and objects deeper than 64 levels.' },
  DISTCI_UNAUTHORIZED: { status: 401, summary: 'The request needs a valid bearer token.' },
  DISTCI_FORBIDDEN: {
    status: 403,
    summary: 'The token is valid but its role or job patterns do not allow this request.',
  },
  DISTCI_BAD_SIGNATURE: { status: 401, summary: 'A webhook signature (X-Hub-Signature-256) is missing or wrong.' },
  DISTCI_NOT_FOUND: { status: 404, summary: 'No route matches the method and URL.' },
  DISTCI_BODY_TOO_LARGE: { status: 413, summary: "The request body is larger than the route's limit." },
  DISTCI_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'The request body has a content type the route does not take.',
  },
  DISTCI_RATE_LIMITED: { status: 429, summary: 'Too many requests from this client; wait and retry.' },
  DISTCI_NOT_READY: { status: 503, summary: 'The frontend cannot reach its coordination store or object store.' },
  DISTCI_STORAGE_NOT_INITIALISED: {
    status: 503,
    summary: 'The object store has no bucket (or directory) for distci yet.',
  },
  // Generic
  DISTCI_INTERNAL: { status: 500, summary: 'An unexpected internal error.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

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
