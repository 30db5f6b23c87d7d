/** The SSE reader: events split anywhere across chunks (inside a CRLF too) come out whole. */
import t from 'tap';
import { readSse, type SseEvent } from '../src/sse.js';

async function parse(chunks: string[]): Promise<SseEvent[]> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      controller.close();
    },
  });
  const out: SseEvent[] = [];
  for await (const e of readSse(body)) out.push(e);
  return out;
}

const stream =
  ': keepalive\r\nid: 1\r\nevent: build\r\ndata: {"a":1}\r\n\r\ndata: line one\ndata: line two\n\nevent: end\ndata: "é"\n\n';

t.test('events, ids, comments, multi-line data', async (t) => {
  t.same(await parse([stream]), [
    { event: 'build', data: '{"a":1}', id: '1' },
    { event: 'message', data: 'line one\nline two', id: '1' },
    { event: 'end', data: '"é"', id: '1' },
  ]);
});

t.test('the same events however the bytes are split', async (t) => {
  const whole = await parse([stream]);
  for (let i = 1; i < stream.length; i++) {
    t.same(await parse([stream.slice(0, i), stream.slice(i)]), whole, `split at ${i}`);
  }
  t.same(await parse([...stream]), whole, 'one character a chunk');
});
