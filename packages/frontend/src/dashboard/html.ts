/**
 * A typed, auto-escaping HTML template tag for the server-rendered pages. Every interpolated value is
 * escaped (`& < > " '`) unless it is itself an `Html` made by this tag (or `trusted`, for the few
 * constant snippets): log text, job configs, params, refs, messages are always data, never markup.
 * Arrays are joined; `null`, `undefined` and `false` render nothing.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup written in this repository (never data). */
export function trusted(markup: string): Html {
  return new Html(markup);
}
