/** The API's own URLs, for `url` fields and `Location` headers: absolute with `DISTCI_PUBLIC_URL`, else paths. */
import type { FrontendOptions } from './frontend-options.js';

export const API = '/api/v1';

export function jobUrl(options: FrontendOptions, job: string): string {
  return `${options.publicUrl ?? ''}${API}/jobs/${job}`;
}

export function buildUrl(options: FrontendOptions, job: string, n: number): string {
  return `${jobUrl(options, job)}/builds/${n}`;
}

/** ETags travel quoted in HTTP (`"abc"`) and unquoted inside distci. */
export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/**
 * The one ETag of an `If-Match` / `If-None-Match` header: `*`, or the unquoted tag (a weak `W/` prefix
 * is dropped); null when the header is absent; `undefined` when it lists several (not supported).
 */
export function parseEtagHeader(value: string | undefined): string | null | undefined {
  if (value === undefined) return null;
  const v = value.trim();
  if (v === '*') return '*';
  const m = /^(?:W\/)?"([\x21\x23-\x7e]*)"$|^([\x21\x23-\x7e]+)$/.exec(v);
  if (!m) return undefined;
  return m[1] ?? m[2] ?? undefined;
}
