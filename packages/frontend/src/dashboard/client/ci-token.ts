/// <reference lib="dom" />
/**
 * `<ci-token>`: where the API token for cancel and retry is kept — this browser's localStorage, set and
 * forgotten here. Forms with `data-api` (cancel, retry) then go to the JSON API with
 * `Authorization: Bearer …` instead of posting the token (the server-side form path without JS).
 */
import { html, LitElement, type TemplateResult } from 'lit';

const KEY = 'distci.token';

export function storedToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the forms ask for the token each time
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {}
  window.dispatchEvent(new CustomEvent('distci-token'));
}

export class CiToken extends LitElement {
  override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('distci-token', () => this.requestUpdate());
  }

  private save(e: Event): void {
    e.preventDefault();
    const input = this.querySelector<HTMLInputElement>('input');
    storeToken(input?.value.trim() || null);
    if (input) input.value = '';
    this.querySelector('details')?.removeAttribute('open');
  }

  override render(): TemplateResult {
    const has = storedToken() !== null;
    return html`<details class="token"><summary>${has ? 'Token ✓' : 'Token'}</summary>
<form @submit=${this.save}><p>An API token lets this page cancel and retry builds. It stays in this browser (localStorage).</p>
<label>API token <input type="password" autocomplete="off"></label>
<button type="submit">Save</button>
${has ? html`<button type="button" @click=${() => storeToken(null)}>Forget</button>` : ''}</form></details>`;
  }
}

customElements.define('ci-token', CiToken);
