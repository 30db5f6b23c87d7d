/**
 * The log writer stores each chunk's line index after the chunk: entries that say what the chunks
 * say (bytes, newlines, where each chunk starts), write times from the writes themselves (never in the
 * log's bytes), and a checkpoint every 1,000 lines.
 */
import { LOG_CHECKPOINT_LINES, type LogIndexEntry } from '@distci/common';
import t from 'tap';
import { createLogWriter } from '../../src/steps/log-writer.js';

t.test('each chunk is followed by its index entry, with write times and checkpoints', async (t) => {
  const chunks: Buffer[] = [];
  const entries: LogIndexEntry[] = [];
  const order: string[] = [];
  const logs = {
    async append(_ref: unknown, index: number, body: Buffer) {
      order.push(`chunk ${index}`);
      chunks[index] = body;
    },
    async appendIndex(_ref: unknown, entry: LogIndexEntry) {
      order.push(`index ${entry.chunk}`);
      entries[entry.chunk] = entry;
    },
  };
  const writer = createLogWriter(logs, { job: 'web', build: 1, step: 'run', attempt: 1 }, { chunkBytes: 10_000 });
  const t0 = Date.now();
  let text = '';
  for (let i = 0; i < 5000; i++) {
    const line = `${i % 100 === 0 ? '\x1b[32m' : ''}line ${i + 1}\r\n`;
    text += line;
    writer.write(line);
  }
  writer.write('no newline');
  text += 'no newline';
  const n = await writer.close();
  t.ok(n > 5, `${n} chunks`);
  t.equal(Buffer.concat(chunks).toString(), text, 'the log bytes are exactly what was written');
  t.same(
    order,
    chunks.flatMap((_, i) => [`chunk ${i}`, `index ${i}`]),
    'chunk, then its index',
  );
  let startByte = 0;
  let startLine = 0;
  for (const [i, e] of entries.entries()) {
    t.same([e.startByte, e.startLine, e.bytes], [startByte, startLine, chunks[i]!.length], `entry ${i}`);
    t.equal(e.newlines, chunks[i]!.toString().split('\n').length - 1);
    t.ok(e.time !== null && e.time >= t0 && e.time <= Date.now(), 'a write time');
    startByte += e.bytes;
    startLine += e.newlines;
  }
  const checkpoints = entries.flatMap((e) => e.checkpoints.map(([line, offset]) => ({ e, line, offset })));
  t.same(
    checkpoints.map((c) => c.line),
    [1, 2, 3, 4, 5].map((k) => k * LOG_CHECKPOINT_LINES).filter((l) => l <= 5000),
    'a checkpoint every 1,000 lines',
  );
  for (const { e, line, offset } of checkpoints) {
    const shown = chunks[e.chunk]!.toString('utf8', offset).split('\r\n')[0];
    t.equal(shown, line === 5000 ? 'no newline' : `\x1b[32mline ${line + 1}`, `checkpoint ${line}`);
  }
  t.equal(entries.at(-1)!.endsWithNewline, false);
  t.equal(entries[1]!.ansi, '\x1b[32m', 'the ANSI state at a chunk start');
});
