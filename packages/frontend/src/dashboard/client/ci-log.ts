/// <reference lib="dom" />
/**
 * `<ci-log data-src="…/logs/:step?follow=1" data-raw="…/logs/:step" data-running="1">`: the log viewer.
 *
 * - Data (issue 11: a 200 MB log must open without downloading it): the lines on screen (plus a page
 *   around them) are fetched by number from `…/lines` — the server reads them through the log's line
 *   index — and kept in a bounded sparse store (`log-lines.ts`). The first answer gives the log's
 *   length. Only a running step opens the SSE stream, from the chunk after the last one that answer
 *   covered (`&after=`), for its tail; on a dropped connection the browser resumes with
 *   `Last-Event-ID` (chunk numbers), so no line is lost or doubled. Every later page asks for the
 *   same chunks the viewer has seen (`chunks=`), so pages and the tail agree. An `attempt` event for a
 *   new attempt starts over; `end` closes the stream.
 * - Rendering: fixed-height rows, only those in view (+ a margin) exist in the DOM; ANSI is parsed for
 *   those rows only (the server gives the state at each page's first line). Text is always a text node
 *   (Lit bindings): a log can never inject markup. Lines not fetched yet show as empty rows.
 * - Browsers cap an element's height (~33.5M px in Chrome): past `MAX_PX` the scrollbar maps to line
 *   numbers by ratio.
 * - Follow: a running step opens at its tail and stays there; scrolling up pauses, `End`/`f`/the button
 *   resumes.
 * - Permalinks: a line number links `#L12`; shift-click makes `#L12-L20`; the hash is honoured on load
 *   (the first page fetched is that line's) and on `hashchange`.
 * - Groups: a `::group::title` line is a header that folds its lines, up to the next `::endgroup::`
 *   line, away (a click; the end is looked for among the lines here, else with a search on the server).
 *   Rows then map to lines around the folds (`rowToLine`, `lineToRow`); a permalink into a folded group
 *   shows its header. Nothing is folded at first: the complete log is always one click away.
 * - Search: on the server (`…/search`): every occurrence counted in the whole log (case-insensitive),
 *   the matching lines' numbers; `Enter`/`n` next, `N` previous, `/` focuses the box.
 * - Times: the button shows each line's write time (coarse: per chunk, and every 1,000 lines — from the
 *   line index; the log's bytes hold no times).
 */
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { type AnsiState, advance, parseLine } from './ansi.js';
import { LogLines, PAGE } from './log-lines.js';

/** GitHub Actions' group markers: `::group::title` … `::endgroup::`, each a line of its own. */
const GROUP_START = /^::group::(.*)$/;
const GROUP_END = /^::endgroup::\s*$/;
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

/** A write time as HH:MM:SS (local). */
function formatTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** `#L12` or `#L12-L20` → [12, 20] (1-based, inclusive), else null. */
export function parseRange(hash: string): [number, number] | null {
  const m = /^#L(\d+)(?:-L(\d+))?$/.exec(hash);
  if (!m) return null;
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  return a >= 1 && b >= 1 ? [Math.min(a, b), Math.max(a, b)] : null;
}

interface LinesAnswer {
  attempt: number | null;
  lines: number;
  chunks: number;
  partial: boolean;
  finished: boolean;
  from: number;
  text: string[];
  ansi: string;
  times: Array<[number, number]>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `HTTP ${res.status}`);
  }
  return (await res.json()) as T;
}

export class CiLog extends LitElement {
  static override properties = {
    status: { state: true },
    following: { state: true },
    query: { state: true },
    times: { state: true },
  };

  private lines = new LogLines();
  private source: EventSource | null = null;
  private started = false;
  private attempt: number | null = null;
  /** Chunks the viewer's lines come from: pages ask for these, the stream continues after them. */
  private chunks = 0;
  /** Bumped when the viewer starts over (a new attempt): answers for an older start are dropped. */
  private gen = 0;
  private inflight = new Set<number>();
  /** Pages an answer left incomplete, with the chunk count then: not asked again until it grows. */
  private tried = new Map<number, number>();
  private pos = 0;
  private viewHeight = 600;
  private programmatic = false;
  private selected: [number, number] | null = null;
  private pendingJump: number | null = null;
  private hits: number[] = [];
  private matchTotal = 0;
  private current = -1;
  private searchTimer = 0;
  private searchSeq = 0;
  private searched = '';
  /** Collapsed groups: [first hidden line, last hidden line] (0-based), sorted, not overlapping. */
  private folds: Array<[number, number]> = [];
  status = 'loading';
  following = false;
  query = '';
  times = false;

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
    this.times = localStorage.getItem('distci.log.times') === '1';
    this.selected = parseRange(location.hash);
    if (this.selected) {
      this.following = false;
      this.pendingJump = this.selected[0] - 1;
    }
    const q = new URLSearchParams(location.search).get('q');
    if (q) this.query = q;
    void this.open();
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

  private get api(): string {
    return this.dataset.raw ?? '';
  }

  private pin(): string {
    return this.attempt === null ? '' : `&attempt=${this.attempt}`;
  }

  /** The first page (the tail, a permalink's line or the top), then the live tail if the step runs. */
  private async open(): Promise<void> {
    const gen = ++this.gen;
    this.source?.close();
    this.source = null;
    const jump = this.pendingJump;
    const query =
      jump !== null
        ? `from=${Math.max(0, Math.floor(jump / PAGE) - 1) * PAGE + 1}&count=${PAGE * 3}`
        : this.following
          ? `tail=1&count=${PAGE * 2}`
          : `from=1&count=${PAGE * 2}`;
    let res: LinesAnswer;
    try {
      res = await getJson<LinesAnswer>(`${this.api}/lines?${query}`);
    } catch (err) {
      this.status = `error: ${(err as Error).message}`;
      return;
    }
    if (gen !== this.gen) return;
    this.attempt = res.attempt;
    this.chunks = res.chunks;
    this.lines.clear();
    this.inflight.clear();
    this.tried.clear();
    this.lines.count = res.lines;
    this.lines.partial = res.partial;
    this.lines.setLines(res.from - 1, res.text, res.ansi, res.times);
    if (res.finished) {
      this.status = 'complete';
      this.following = false;
    } else {
      this.status = 'live';
      this.stream(gen);
    }
    this.changed(true);
  }

  private stream(gen: number): void {
    const src = this.dataset.src;
    if (!src) return;
    const es = new EventSource(`${src}${src.includes('?') ? '&' : '?'}after=${this.chunks - 1}`);
    this.source = es;
    es.addEventListener('open', () => {
      if (this.status === 'reconnecting') this.status = 'live';
    });
    es.addEventListener('attempt', (e) => {
      const { attempt } = JSON.parse((e as MessageEvent).data) as { attempt: number | null };
      if (this.attempt !== null && attempt !== this.attempt) {
        // Another attempt's log: start over from its tail.
        this.attempt = attempt;
        this.following = true;
        void this.open();
        return;
      }
      this.attempt = attempt;
    });
    es.addEventListener('message', (e) => {
      if (gen !== this.gen) return;
      const id = Number(e.lastEventId);
      if (id < this.chunks) return; // seen (a resumed stream never sends it again, but be sure)
      if (id > this.chunks) {
        void this.open(); // a gap cannot happen; were it to, start over rather than skip lines
        return;
      }
      const value = JSON.parse(e.data) as string | { base64: string };
      const text =
        typeof value === 'string'
          ? value
          : new TextDecoder().decode(Uint8Array.from(atob(value.base64), (c) => c.charCodeAt(0)));
      this.lines.append(text, Date.now());
      this.chunks = id + 1;
      this.status = 'live';
      this.changed(false);
    });
    es.addEventListener('end', () => {
      es.close();
      this.status = 'complete';
      this.following = false;
      this.changed(false);
    });
    es.addEventListener('error', (e) => {
      if (e instanceof MessageEvent && e.data) {
        es.close();
        this.status = `error: ${(JSON.parse(e.data) as { message?: string }).message ?? 'the log stream failed'}`;
      } else if (es.readyState === EventSource.CONNECTING) {
        this.status = 'reconnecting';
      } else {
        // The browser gave up (e.g. offline): go on from the last chunk seen, soon or when back online.
        this.status = 'disconnected';
        es.close();
        const again = () => {
          window.removeEventListener('online', again);
          clearTimeout(timer);
          if (gen === this.gen && this.source === es) this.stream(gen);
        };
        const timer = window.setTimeout(again, 3000);
        window.addEventListener('online', again);
      }
      this.requestUpdate();
    });
  }

  /** Fetches the pages around the view that are not here (after each render). */
  private ensureVisible(): void {
    const count = this.lines.count;
    if (count === 0 || this.status === 'loading') return;
    const { first } = this.window();
    const rows = this.rows;
    const from = this.rowToLine(Math.max(0, first - OVERSCAN));
    const to = this.rowToLine(Math.max(0, Math.min(rows, first + Math.ceil(this.viewHeight / ROW) + OVERSCAN) - 1)) + 1;
    const p0 = Math.floor(Math.max(0, from - PAGE / 4) / PAGE);
    const p1 = Math.floor(Math.min(count - 1, to + PAGE / 4) / PAGE);
    for (let p = p0; p <= p1; p++) {
      if (this.inflight.has(p) || this.tried.get(p) === this.chunks || this.lines.loaded(p)) continue;
      void this.fetchPage(p);
    }
    this.lines.evict(this.rowToLine(first));
  }

  private async fetchPage(p: number): Promise<void> {
    const gen = this.gen;
    const chunks = this.chunks;
    this.inflight.add(p);
    try {
      const res = await getJson<LinesAnswer>(
        `${this.api}/lines?from=${p * PAGE + 1}&count=${PAGE}&chunks=${chunks}${this.pin()}`,
      );
      if (gen !== this.gen) return;
      // Lines that are complete in the answer never change; the rest only if the tail has not moved.
      const complete = res.lines - (res.partial ? 1 : 0);
      if (res.chunks === this.chunks || (p + 1) * PAGE <= complete) {
        this.lines.setLines(res.from - 1, res.text, res.ansi, res.times);
        if (!this.lines.loaded(p)) this.tried.set(p, this.chunks);
        this.requestUpdate();
      }
    } catch {
      this.tried.set(p, this.chunks);
    } finally {
      this.inflight.delete(p);
    }
  }

  /** New lines: keep the tail in view when following, honour a pending permalink, refresh search. */
  private changed(opened: boolean): void {
    this.requestUpdate(); // first: `updateComplete` below then waits for the render with the new lines
    if (this.pendingJump !== null && this.pendingJump < this.lines.count) {
      const line = this.pendingJump;
      this.pendingJump = null;
      this.updateComplete.then(() => this.scrollToLine(line, true));
    }
    if (this.query && (opened || !this.searchTimer)) this.scheduleSearch(opened ? 0 : 2000);
    if (this.following) this.updateComplete.then(() => this.scrollToEnd());
  }

  /** Rows on screen: the lines less those of collapsed groups. */
  private get rows(): number {
    let hidden = 0;
    for (const [a, b] of this.folds) if (a < this.lines.count) hidden += Math.min(b, this.lines.count - 1) - a + 1;
    return this.lines.count - hidden;
  }

  /** The line a row shows. */
  private rowToLine(row: number): number {
    let line = row;
    for (const [a, b] of this.folds) {
      if (line < a) break;
      line += b - a + 1;
    }
    return line;
  }

  /** The row of a line (a line in a collapsed group: its group's header). */
  private lineToRow(line: number): number {
    let hidden = 0;
    for (const [a, b] of this.folds) {
      if (line < a) break;
      if (line <= b) return a - 1 - hidden;
      hidden += b - a + 1;
    }
    return line - hidden;
  }

  private get totalPx(): number {
    return Math.min(this.rows * ROW, MAX_PX);
  }

  private get scaled(): boolean {
    return this.rows * ROW > MAX_PX;
  }

  /** The first line in view and the pixel offset of the rows block. */
  private window(): { first: number; offset: number } {
    if (!this.scaled) {
      const first = Math.floor(this.pos / ROW);
      return { first, offset: first * ROW };
    }
    const visible = Math.ceil(this.viewHeight / ROW);
    const ratio = this.pos / Math.max(1, this.totalPx - this.viewHeight);
    return { first: Math.round(ratio * Math.max(0, this.rows - visible)), offset: this.pos };
  }

  private viewport(): HTMLElement | null {
    return this.querySelector('.log-view');
  }

  scrollToLine(line: number, center = false): void {
    const vp = this.viewport();
    if (!vp) return;
    const visible = Math.ceil(this.viewHeight / ROW);
    let top: number;
    const row = this.lineToRow(line);
    const target = center ? Math.max(0, row - Math.floor(visible / 3)) : row;
    if (!this.scaled) top = target * ROW;
    else top = (target / Math.max(1, this.rows - visible)) * (this.totalPx - this.viewHeight);
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

  private scheduleSearch(ms = 250): void {
    clearTimeout(this.searchTimer);
    this.searchTimer = window.setTimeout(() => {
      this.searchTimer = 0;
      void this.runSearch();
    }, ms);
  }

  /** Searches the whole log on the server (the chunks seen); the same query over the same chunks once. */
  private async runSearch(): Promise<void> {
    const q = this.query;
    const key = `${q}\n${this.chunks}\n${this.attempt}`;
    if (key === this.searched) return;
    const seq = ++this.searchSeq;
    if (!q) {
      this.hits = [];
      this.matchTotal = 0;
      this.searched = key;
      this.requestUpdate();
      return;
    }
    try {
      const res = await getJson<{ total: number; hits: number[] }>(
        `${this.api}/search?q=${encodeURIComponent(q)}&chunks=${this.chunks}&limit=10000${this.pin()}`,
      );
      if (seq !== this.searchSeq) return;
      this.hits = res.hits.map((h) => h - 1);
      this.matchTotal = res.total;
      this.searched = key;
      if (this.current >= this.hits.length) this.current = this.hits.length - 1;
    } catch (err) {
      if (seq === this.searchSeq) this.status = `search failed: ${(err as Error).message}`;
    }
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
      this.searchTimer = 0;
      const dir = e.shiftKey ? -1 : 1;
      void this.runSearch().then(() => this.step(dir));
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
    const { first } = this.window();
    const from = Math.max(0, first - OVERSCAN);
    const to = Math.min(this.rows, first + Math.ceil(this.viewHeight / ROW) + OVERSCAN);
    const rows: TemplateResult[] = [];
    let state: AnsiState | null = null;
    let prev = -1;
    const currentLine = this.current >= 0 ? this.hits[this.current] : -1;
    for (let row = from; row < to; row++) {
      const i = this.rowToLine(row);
      if (i !== prev + 1) state = null; // after a collapsed group: the state at its end, from a checkpoint
      prev = i;
      const raw = this.lines.line(i);
      state ??= raw === undefined ? null : this.lines.stateAt(i);
      const group = raw === undefined ? null : GROUP_START.exec(raw);
      if (group) {
        rows.push(this.groupRow(i, group[1] ?? ''));
        if (state) state = advance(state, raw!);
        continue;
      }
      const segments = raw === undefined || !state ? [] : parseLine(state, raw);
      state = raw === undefined || !state ? null : advance(state, raw);
      const n = i + 1;
      const sel = this.selected && n >= this.selected[0] && n <= this.selected[1];
      const ms = this.times ? this.lines.timeAt(i) : null;
      rows.push(
        html`<div class="log-row${sel ? ' selected' : ''}${i === currentLine ? ' current' : ''}${raw === undefined ? ' loading' : ''}${raw !== undefined && GROUP_END.test(raw) ? ' log-group-end' : ''}" data-line="${n}"><a class="ln" href="#L${n}" @click=${(e: MouseEvent) => this.lineClick(e, i)}>${n}</a>${this.times ? html`<span class="tm">${ms === null ? '' : formatTime(ms)}</span>` : nothing}<span class="lt">${segments.map(
          (s) =>
            html`<span class="${segmentClass(s.state)}" .style=${segmentStyle(s.state)}>${this.highlight(s.text)}</span>`,
        )}</span></div>`,
      );
    }
    return rows;
  }

  /** A `::group::title` line: a header that folds the group (up to its `::endgroup::`) away and back. */
  private groupRow(i: number, title: string): TemplateResult {
    const n = i + 1;
    const open = !this.folds.some(([a]) => a === i + 1);
    return html`<div class="log-row log-group" data-line="${n}"><a class="ln" href="#L${n}" @click=${(e: MouseEvent) => this.lineClick(e, i)}>${n}</a><button type="button" class="fold" aria-expanded=${open ? 'true' : 'false'} @click=${() => void this.toggleGroup(i)}>${open ? '▾' : '▸'} ${title}</button></div>`;
  }

  /** Folds the group whose header is line `i` (its end found among the lines here, else on the server). */
  private async toggleGroup(i: number): Promise<void> {
    const at = this.folds.findIndex(([a]) => a === i + 1);
    if (at >= 0) {
      this.folds.splice(at, 1);
      this.requestUpdate();
      return;
    }
    let end = -1;
    for (let j = i + 1; j < this.lines.count && j < i + 1 + PAGE * 4; j++) {
      const raw = this.lines.line(j);
      if (raw === undefined) break;
      if (GROUP_END.test(raw)) {
        end = j;
        break;
      }
    }
    if (end < 0) {
      const res = await getJson<{ hits: number[] }>(
        `${this.api}/search?q=${encodeURIComponent('::endgroup::')}&after=${i + 1}&limit=1&chunks=${this.chunks}${this.pin()}`,
      ).catch(() => ({ hits: [] as number[] }));
      end = res.hits.length ? res.hits[0]! - 1 : this.lines.count - 1; // an open group runs to the end
    }
    if (end <= i) return;
    this.folds = [...this.folds.filter(([a, b]) => b < i + 1 || a > end), [i + 1, end] as [number, number]].sort(
      (x, y) => x[0] - y[0],
    );
    this.following = false;
    this.requestUpdate();
  }

  private toggleTimes(): void {
    this.times = !this.times;
    localStorage.setItem('distci.log.times', this.times ? '1' : '0');
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
<button type="button" class="times" aria-pressed=${this.times ? 'true' : 'false'} @click=${() => this.toggleTimes()}>Times</button>
<button type="button" class="follow" aria-pressed=${this.following ? 'true' : 'false'} @click=${() => this.follow()}>${this.following ? 'Following' : 'Follow ↓'}</button>
<a class="button" href=${this.dataset.raw ?? '#'} download>Download</a>
</div>
<div class="log-view" tabindex="0" aria-label="log lines" @scroll=${this.onScroll}>
<div class="log-spacer" .style=${`height:${this.totalPx}px`}></div>
<div class="log-rows" .style=${`transform:translateY(${top}px)`}>${this.renderRows()}</div>
</div>`;
  }

  override updated(): void {
    this.ensureVisible();
  }

  override firstUpdated(): void {
    const vp = this.viewport();
    if (vp) this.viewHeight = vp.clientHeight || 600;
  }
}

customElements.define('ci-log', CiLog);
