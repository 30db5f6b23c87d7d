/**
 * The dashboard's login when reads need a token (`DISTCI_READ_AUTH=token`): the token a user enters is
 * kept in a cookie the page's scripts cannot read (HttpOnly) and the browser sends only from this
 * site's own pages (SameSite=Strict). It authenticates *reads* only — pages, and the API's GETs the
 * pages' scripts make (SSE streams, fragments) — never a write: cancel and retry still need the token
 * itself (a form body or a bearer header), so a cookie can never be ridden to change anything (CSRF).
 */
export const TOKEN_COOKIE = 'distci_token';

/** The token in the `cookie` header, or null. */
export function tokenFromCookie(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== TOKEN_COOKIE) continue;
    try {
      const value = decodeURIComponent(part.slice(eq + 1).trim());
      return value || null;
    } catch {
      return null;
    }
  }
  return null;
}

/** `Set-Cookie` for a token (session cookie: gone when the browser closes), or to clear it. */
export function tokenCookie(token: string | null, secure: boolean): string {
  const attrs = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return token === null
    ? `${TOKEN_COOKIE}=; ${attrs}; Max-Age=0`
    : `${TOKEN_COOKIE}=${encodeURIComponent(token)}; ${attrs}`;
}
