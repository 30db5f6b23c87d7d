/** A minimal server-sent-events reader over fetch, for following logs like a browser would. */

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
  /** When the event was fully received (ms since the epoch, sub-ms precision). */
  at: number;
}

const now = () => performance.timeOrigin + performance.now();

/** Calls `onEvent` for every event until the stream ends, `onEvent` returns true, or `signal` aborts. */
export async function readSse(
  url: string,
  onEvent: (event: SseEvent) => boolean | undefined | Promise<boolean | undefined>,
  signal?: AbortSignal,
): Promise<void> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  // Where the search for the next blank line resumes: a 4 MiB event arrives in many reads.
  let scanned = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n', scanned);
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { event: 'message', id: null, data: '', at: now() };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event.event = value;
          else if (field === 'id') event.id = value;
          else if (field === 'data') data.push(value);
        }
        event.data = data.join('\n');
        // Comments (keepalives) and a bare `retry:` carry no data: not events.
        if (data.length > 0 && (await onEvent(event))) return;
        end = buffer.indexOf('\n\n');
      }
      scanned = Math.max(0, buffer.length - 1);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
