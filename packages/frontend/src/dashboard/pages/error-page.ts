/** Error pages: 404 for an unknown job, build or step; 400/401/409 for a refused form; 5xx with the request id only. */
import { type Html, html } from '../html.js';

export function errorBody(status: number, code: string, message: string, requestId: string): Html {
  return html`<h1>${status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'Refused'}</h1>
<p class="error-message">${message}</p>
<p class="hint"><span class="mono">${code}</span> · request <span class="mono">${requestId}</span></p>
<p><a href="/">Back to the overview</a></p>`;
}
