/**
 * The HTTP client of the distci API (`/api/v1`, docs/api.md): bearer token, JSON in and out, and the
 * two failure shapes turned into errors that say what to do:
 * - the API could not be reached: "cannot reach http://127.0.0.1:8080 — is `distci dev` running?";
 * - the API answered an error: its stable `code` and `message` (`DISTCI_JOB_NOT_FOUND: no job named …`).
 */
import { type CliError, cliError, EXIT } from './cli-error.js';
import type { ClientOptions } from './client-options.js';

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ApiClient {
  readonly url: string;
  /** A JSON request; resolves with the parsed body (undefined for 204). */
  json<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** A request whose body the caller reads (logs, event streams); errors are thrown as for `json`. */
  raw(method: string, path: string, options?: RequestOptions): Promise<Response>;
}

/** `/api/v1/jobs/<job>/builds/<n>`, with each segment encoded. */
export function apiPath(...segments: Array<string | number>): string {
  return `/api/v1/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

export function createApiClient(options: ClientOptions): ApiClient {
  const base = options.url;

  const unreachable = (err: unknown): CliError => {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    const local = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(base);
    const hint = local
      ? 'is `distci dev` running? (start it with `npx distci dev`)'
      : 'is a `distci frontend` running there? (set --url or DISTCI_URL)';
    return cliError(`cannot reach ${base} (${why}) — ${hint}`, { exitCode: EXIT.unreachable, cause: err });
  };

  const fail = async (res: Response, method: string, path: string): Promise<CliError> => {
    const text = await res.text().catch(() => '');
    let body: { code?: unknown; message?: unknown; details?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {}
    const code = typeof body.code === 'string' ? body.code : `HTTP_${res.status}`;
    let message =
      typeof body.message === 'string'
        ? body.message
        : `${method} ${path} answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`;
    if (res.status === 401) {
      message +=
        options.tokenSource === 'none'
          ? ' — pass --token or set DISTCI_TOKEN (`distci dev` prints its token and keeps it in <data dir>/token)'
          : ` — the token from ${options.tokenSource === 'data dir' ? 'the data dir' : `--token/DISTCI_TOKEN`} was refused`;
    }
    return cliError(message, { code, details: body.details, exitCode: EXIT.failure });
  };

  const raw = async (method: string, path: string, o: RequestOptions = {}): Promise<Response> => {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: o.signal });
    } catch (err) {
      if ((err as { name?: string }).name === 'AbortError') throw err;
      throw unreachable(err);
    }
    if (!res.ok) throw await fail(res, method, path);
    return res;
  };

  return {
    url: base,
    raw,
    async json<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
      const res = await raw(method, path, o);
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      try {
        return (text === '' ? undefined : JSON.parse(text)) as T;
      } catch {
        throw cliError(`${method} ${path} answered a body that is not JSON: ${text.slice(0, 200)}`);
      }
    },
  };
}
