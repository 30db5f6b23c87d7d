/// <reference lib="dom" />
/**
 * Progressive enhancement of server-rendered markup, run on load and after each live swap:
 * - `<time datetime>`: "3 minutes ago" (Intl.RelativeTimeFormat), the exact time on focus and in `title`;
 * - forms with `data-api` (cancel, retry): sent to the JSON API with the stored token (`ci-token.ts`)
 *   and the form's `data-body` as the JSON body, if any;
 *   the token field shows only when no token is stored.
 */
import { storedToken, storeToken } from './ci-token.js';

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

export function relative(ms: number, now = Date.now()): string {
  const diff = ms - now;
  for (const [unit, size] of UNITS) {
    if (Math.abs(diff) >= size || unit === 'second') return rtf.format(Math.round(diff / size), unit);
  }
  return '';
}

function enhanceTime(el: HTMLTimeElement): void {
  const at = Date.parse(el.dateTime);
  if (Number.isNaN(at)) return;
  if (!el.dataset.exact) {
    el.dataset.exact = el.textContent ?? '';
    el.title = el.dataset.exact;
    el.addEventListener('focus', () => {
      el.textContent = el.dataset.exact ?? '';
    });
    el.addEventListener('blur', () => {
      el.textContent = relative(at);
    });
  }
  if (document.activeElement !== el) el.textContent = relative(at);
}

function enhanceForm(form: HTMLFormElement): void {
  if (form.dataset.enhanced) return;
  form.dataset.enhanced = '1';
  const field = form.querySelector<HTMLElement>('.token-field');
  const input = form.querySelector<HTMLInputElement>('input[name="token"]');
  // With JS the token comes from localStorage; the field shows only when none is stored and one is needed.
  if (field) field.hidden = true;
  if (input) input.required = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const typed = input?.value.trim();
    if (typed) storeToken(typed);
    const token = storedToken();
    const out = form.querySelector('.form-result') ?? form.appendChild(document.createElement('span'));
    out.className = 'form-result';
    out.setAttribute('role', 'status');
    if (!token) {
      if (field) field.hidden = false;
      input?.focus();
      out.textContent = 'enter an API token (kept in this browser)';
      return;
    }
    out.textContent = '…';
    // `data-body`: the JSON the API route takes (retry the failed steps: `{"failed":true}`).
    const json = form.dataset.body;
    const res = await fetch(form.dataset.api!, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
      ...(json ? { body: json } : {}),
    });
    const body = (await res.json().catch(() => ({}))) as { message?: string; number?: number; job?: string };
    if (res.status === 401) storeToken(null);
    if (!res.ok) {
      out.textContent = body.message ?? `failed (${res.status})`;
      return;
    }
    if (body.number !== undefined && body.job !== undefined && res.status === 201) {
      location.assign(`/jobs/${encodeURIComponent(body.job)}/builds/${body.number}`);
    } else {
      out.textContent = 'Cancel requested.';
    }
  });
}

export function enhance(root: ParentNode): void {
  for (const el of Array.from(root.querySelectorAll<HTMLTimeElement>('time[datetime]'))) enhanceTime(el);
  root.querySelectorAll<HTMLFormElement>('form[data-api]').forEach(enhanceForm);
}
