/** The login page (`DISTCI_READ_AUTH=token`): a token, kept in an HttpOnly SameSite=Strict cookie. */
import { type Html, html } from '../html.js';

export function loginBody(next: string, rejected: boolean): Html {
  return html`<h1>Log in</h1>
<p>This distci needs a token to read. It is kept in a cookie this site's scripts cannot read, sent only by its own pages.</p>
${rejected ? html`<p class="warn" role="alert">That token is not valid (any more).</p>` : ''}
<form class="login" method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<label>API token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button>
</form>`;
}
