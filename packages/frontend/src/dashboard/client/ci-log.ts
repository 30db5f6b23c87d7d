/// <reference lib="dom" />
/**
 * `<ci-log data-src="…/logs/:step?follow=1" data-raw="…" data-running="1">`: the log viewer.
 *
 * - Data: one EventSource on the log's SSE stream: every chunk from the first, then live; on a dropped
 *   connection the browser resumes with `Last-Event-ID` (chunk numbers), so no line is lost or doubled.
 *   An `attempt` event for a new attempt starts over; `end` closes the stream.
 * - Rendering: fixed-height rows, only those in view (+ a margin) exist in the DOM; ANSI is parsed for
 *   those rows only (`log-lines.ts` gives the state at their start). Text is always a text node (Lit
 *   bindings): a log can never inject markup.
 * - Browsers cap an element's height (~33.5M px in Chrome): past `MAX_PX` the scrollbar maps to line
 *   numbers by ratio.
 * - Follow: a running step opens at its tail and stays there; scrolling up pauses, `End`/`f`/the button
 *   resumes.
 * - Permalinks: a line number links `#L12`; shift-click makes `#L12-L20`; the hash is honoured on load
 *   (once that line arrived) and on `hashchange`.
 * - Search: every occurrence counted in the whole log (case-insensitive), `Enter`/`n` next, `N`
 *   previous, `/` focuses the box.
 */
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { type AnsiState, advance, parseLine } from './ansi.js';
import { LogLines } from './log-lines.js';

/** 18 px per row: the CSS line height of `.log-row` (they must agree). */
const ROW = 18;
/** 40 rows drawn above and below the view, so fast scrolling shows no blank rows. */
const OVERSCAN = 40;
/** 10M px: below every browser's element height cap (Chrome ~33.5M, Firefox ~17.9M). */
const MAX_PX = 10_000_000;

/**
 * 256-colour and truecolor as CSS text, bound as the `.style` *property* (CSSOM: allowed by the CSP's
 * `style-src 'self'`); a `style` attribute — what lit's styleMap writes on first render — is refused.
 */
function segmentStyle(s: AnsiState): string {
  let css = '';
  if (s.fg?.startsWith('rgb')) css += `color:${s.fg};`;
  if (s.bg?.startsWith('rgb')) css += `background:${s.bg};`;
  return css;
}

function segmentClass(s: AnsiState): string {
  let c = '';
  if (s.fg && !s.fg.startsWith('rgb')) c += ` f${s.fg}`;
  if (s.bg && !s.bg.startsWith('rgb')) c += ` b${s.bg}`;
  if (s.bold) c += ' bold';
  if (s.dim) c += ' dim';
  if (s.italic) c += ' italic';
  if (s.underline) c += ' underline';
  return c;
}

/** `#L12` or `#L12-L20` → [12, 20] (1-based, inclusive), else null. */
export function parseRange(hash: string): [number, number] | null {
  const m = /^#L(\d+)(?:-L(\d+))?$/.exec(hash);
  if (!m) return null;
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  return a >= 1 && b >= 1 ? [Math.min(a, b), Math.max(a, b)] : null;
}

export class CiLog extends LitElement {
  static override properties = {
    status: { state: true },
    following: { state: true },
    query: { state: true },
  };

  private lines = new LogLines();
  private source: EventSource | null = null;
  private started = false;
  private attempt: number | null = null;
  private pos = 0;
  private viewHeight = 600;
  private programmatic = false;
  private selected: [number, number] | null = null;
  private pendingJump: number | null = null;
  private hits: number[] = [];
  private matchTotal = 0;
  private current = -1;
  private searchTimer = 0;
  status = 'loading';
  following = false;
  query = '';

  override createRenderRoot(): HTMLElement {
    return this; // light DOM: the page's stylesheet applies, tests and find-in-page see the rows
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    window.addEventListener('keydown', this.onKey);
    // A live refresh moves this element into the new <main> (disconnect, connect): it keeps its
    // lines and its stream — opening another would append the log a second time.
    if (this.started) return;
    this.started = true;
    this.following = this.dataset.running === '1';
    this.selected = parseRange(location.hash);
    if (this.selected) {
      this.following = false;
      this.pendingJump = this.selected[0] - 1;
    }
    const q = new URLSearchParams(location.search).get('q');
    if (q) this.query = q;
    this.open();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
    window.removeEventListener('keydown', this.onKey);
    // Removed for good (not moved by a refresh): stop the stream.
    queueMicrotask(() => {
      if (!this.isConnected) this.source?.close();
    });
  }

  private open(): void {
    const src = this.dataset.src;
    if (!src) return;
    const es = new EventSource(src);
    this.source = es;
    es.addEventListener('open', () => {
      if (this.status === 'reconnecting') this.status = 'live';
    });
    es.addEventListener('attempt', (e) => {
      const { attempt } = JSON.parse((e as MessageEvent).data) as { attempt: number | null };
      if (this.attempt !== null && attempt !== this.attempt) this.lines.clear();
      this.attempt = attempt;
    });
    es.addEventListener('message', (e) => {
      const value = JSON.parse(e.data) as string | { base64: string };
      const text =
        typeof value === 'string'
          ? value
          : new TextDecoder().decode(Uint8Array.from(atob(value.base64), (c) => c.charCodeAt(0)));
      this.lines.append(text);
      this.status = 'live';
      this.changed();
    });
    es.addEventListener('end', () => {
      es.close();
      this.status = 'complete';
      this.following = false;
      this.changed();
    });
    es.addEventListener('error', (e) => {
      if (e instanceof MessageEvent && e.data) {
        es.close();
        this.status = `error: ${(JSON.parse(e.data) as { message?: string }).message ?? 'the log stream failed'}`;
      } else if (es.readyState === EventSource.CONNECTING) {
        this.status = 'reconnecting';
      } else {
        this.status = 'disconnected';
      }
      this.requestUpdate();
    });
  }

  /** New lines: keep the tail in view when following, honour a pending permalink, refresh search. */
  private changed(): void {
    this.requestUpdate(); // first: `updateComplete` below then waits for the render with the new lines
    if (this.pendingJump !== null && this.pendingJump < this.lines.count) {
      const line = this.pendingJump;
      this.pendingJump = null;
      this.updateComplete.then(() => this.scrollToLine(line, true));
    }
    if (this.query) this.scheduleSearch();
    if (this.following) this.updateComplete.then(() => this.scrollToEnd());
  }

  private get totalPx(): number {
    return Math.min(this.lines.count * ROW, MAX_PX);
  }

  private get scaled(): boolean {
    return this.lines.count * ROW > MAX_PX;
  }

  /** The first line in view and the pixel offset of the rows block. */
  private window(): { first: number; offset: number } {
    if (!this.scaled) {
      const first = Math.floor(this.pos / ROW);
      return { first, offset: first * ROW };
    }
    const visible = Math.ceil(this.viewHeight / ROW);
    const ratio = this.pos / Math.max(1, this.totalPx - this.viewHeight);
    return { first: Math.round(ratio * Math.max(0, this.lines.count - visible)), offset: this.pos };
  }

  private viewport(): HTMLElement | null {
    return this.querySelector('.log-view');
  }

  scrollToLine(line: number, center = false): void {
    const vp = this.viewport();
    if (!vp) return;
    const visible = Math.ceil(this.viewHeight / ROW);
    let top: number;
    const target = center ? Math.max(0, line - Math.floor(visible / 3)) : line;
    if (!this.scaled) top = target * ROW;
    else top = (target / Math.max(1, this.lines.count - visible)) * (this.totalPx - this.viewHeight);
    this.programmatic = true;
    vp.scrollTop = top;
    this.pos = vp.scrollTop;
    this.requestUpdate();
  }

  private scrollToEnd(): void {
    const vp = this.viewport();
    if (!vp) return;
    this.programmatic = true;
    vp.scrollTop = vp.scrollHeight;
    this.pos = vp.scrollTop;
    this.requestUpdate();
  }

  private onScroll = (e: Event): void => {
    const vp = e.target as HTMLElement;
    this.pos = vp.scrollTop;
    this.viewHeight = vp.clientHeight;
    if (this.programmatic) {
      this.programmatic = false;
    } else if (this.following && vp.scrollTop + vp.clientHeight < vp.scrollHeight - ROW * 2) {
      this.following = false; // the reader scrolled up: pause
    }
    this.requestUpdate();
  };

  private onHash = (): void => {
    const range = parseRange(location.hash);
    if (!range) return;
    this.selected = range;
    this.following = false;
    if (range[0] - 1 < this.lines.count) this.scrollToLine(range[0] - 1, true);
    else this.pendingJump = range[0] - 1;
    this.requestUpdate();
  };

  private onKey = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement;
    if (target.closest('input, textarea, select')) return;
    if (e.key === '/') {
      e.preventDefault();
      this.querySelector<HTMLInputElement>('.log-search input')?.focus();
    } else if (e.key === 'n' || e.key === 'N') {
      this.step(e.key === 'n' ? 1 : -1);
    } else if (e.key === 'f' || e.key === 'End') {
      if (e.key === 'End') e.preventDefault();
      this.follow();
    } else if (e.key === 'Home' || e.key === 'g') {
      e.preventDefault();
      this.following = false;
      this.scrollToLine(0);
    }
  };

  private follow(): void {
    this.following = true;
    this.scrollToEnd();
  }

  private lineClick(e: MouseEvent, line: number): void {
    e.preventDefault();
    const n = line + 1;
    const range: [number, number] =
      e.shiftKey && this.selected ? [Math.min(this.selected[0], n), Math.max(this.selected[0], n)] : [n, n];
    this.selected = range;
    this.following = false;
    history.replaceState(null, '', range[0] === range[1] ? `#L${range[0]}` : `#L${range[0]}-L${range[1]}`);
    this.requestUpdate();
  }

  private scheduleSearch(): void {
    clearTimeout(this.searchTimer);
    this.searchTimer = window.setTimeout(() => this.runSearch(), 150);
  }

  private runSearch(): void {
    const { lines, total } = this.lines.search(this.query);
    this.hits = lines;
    this.matchTotal = total;
    if (this.current >= lines.length) this.current = lines.length - 1;
    this.requestUpdate();
  }

  private onSearchInput(e: Event): void {
    this.query = (e.target as HTMLInputElement).value;
    this.current = -1;
    const url = new URL(location.href);
    if (this.query) url.searchParams.set('q', this.query);
    else url.searchParams.delete('q');
    history.replaceState(null, '', url);
    this.scheduleSearch();
  }

  private onSearchKey(e: KeyboardEvent): void {
    if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(this.searchTimer);
      this.runSearch();
      this.step(e.shiftKey ? -1 : 1);
    } else if (e.key === 'Escape') {
      (e.target as HTMLInputElement).blur();
    }
  }

  /** The next (or previous) line with a match, wrapping around. */
  private step(dir: 1 | -1): void {
    if (this.hits.length === 0) return;
    this.current = (this.current + dir + this.hits.length) % this.hits.length;
    this.following = false;
    this.scrollToLine(this.hits[this.current]!, true);
  }

  private highlight(text: string): TemplateResult | string {
    const q = this.query.toLowerCase();
    if (!q) return text;
    const lower = text.toLowerCase();
    if (!lower.includes(q)) return text;
    const parts: Array<TemplateResult | string> = [];
    let at = 0;
    for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) {
      parts.push(text.slice(at, i), html`<mark>${text.slice(i, i + q.length)}</mark>`);
      at = i + q.length;
    }
    parts.push(text.slice(at));
    return html`${parts}`;
  }

  private renderRows(): TemplateResult[] {
    const count = this.lines.count;
    const { first } = this.window();
    const from = Math.max(0, first - OVERSCAN);
    const to = Math.min(count, first + Math.ceil(this.viewHeight / ROW) + OVERSCAN);
    const rows: TemplateResult[] = [];
    let state = from < count ? this.lines.stateAt(from) : undefined;
    const currentLine = this.current >= 0 ? this.hits[this.current] : -1;
    for (let i = from; i < to; i++) {
      const raw = this.lines.line(i);
      const segments = parseLine(state!, raw);
      state = advance(state!, raw);
      const n = i + 1;
      const sel = this.selected && n >= this.selected[0] && n <= this.selected[1];
      rows.push(
        html`<div class="log-row${sel ? ' selected' : ''}${i === currentLine ? ' current' : ''}" data-line="${n}"><a class="ln" href="#L${n}" @click=${(e: MouseEvent) => this.lineClick(e, i)}>${n}</a><span class="lt">${segments.map(
          (s) =>
            html`<span class="${segmentClass(s.state)}" .style=${segmentStyle(s.state)}>${this.highlight(s.text)}</span>`,
        )}</span></div>`,
      );
    }
    return rows;
  }

  override render(): TemplateResult {
    const count = this.lines.count;
    const { first, offset } = this.window();
    const from = Math.max(0, first - OVERSCAN);
    const top = this.scaled ? offset - (first - from) * ROW : from * ROW;
    const status = this.status === 'reconnecting' ? 'reconnecting…' : this.status;
    return html`<div class="log-bar" role="toolbar" aria-label="log">
<span class="log-status" role="status">${count.toLocaleString('en')} lines · ${status}</span>
<label class="log-search">Search <input type="search" .value=${this.query} @input=${this.onSearchInput} @keydown=${this.onSearchKey} aria-describedby="log-count"></label>
<span id="log-count" class="log-count" aria-live="polite">${
      this.query
        ? `${this.current >= 0 ? `line ${this.current + 1} of ${this.hits.length} lines · ` : ''}${this.matchTotal.toLocaleString('en')} matches`
        : nothing
    }</span>
<button type="button" @click=${() => this.step(-1)} ?disabled=${!this.hits.length} aria-label="previous match">↑</button>
<button type="button" @click=${() => this.step(1)} ?disabled=${!this.hits.length} aria-label="next match">↓</button>
<button type="button" class="follow" aria-pressed=${this.following ? 'true' : 'false'} @click=${() => this.follow()}>${this.following ? 'Following' : 'Follow ↓'}</button>
<a class="button" href=${this.dataset.raw ?? '#'} download>Download</a>
</div>
<div class="log-view" tabindex="0" aria-label="log lines" @scroll=${this.onScroll}>
<div class="log-spacer" .style=${`height:${this.totalPx}px`}></div>
<div class="log-rows" .style=${`transform:translateY(${top}px)`}>${this.renderRows()}</div>
</div>`;
  }

  override firstUpdated(): void {
    const vp = this.viewport();
    if (vp) this.viewHeight = vp.clientHeight || 600;
  }
}

customElements.define('ci-log', CiLog);
