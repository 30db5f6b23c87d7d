import t from 'tap';
import { formatEvent } from '../../src/live/sse.js';

t.test('formatEvent: SSE framing', async (t) => {
  t.equal(formatEvent({ data: '"x"' }), 'data: "x"\n\n');
  t.equal(formatEvent({ id: 3, event: 'build', data: '{}' }), 'id: 3\nevent: build\ndata: {}\n\n');
  t.equal(formatEvent({ id: '', event: 'attempt', data: '{}' }), 'id: \nevent: attempt\ndata: {}\n\n');
  t.equal(formatEvent({ data: 'a\nb\r\nc\rd' }), 'data: a\ndata: b\ndata: c\ndata: d\n\n', 'one data line per line');
  t.equal(formatEvent({ id: '1\n2', event: 'x\ny', data: '' }), 'id: 12\nevent: xy\ndata: \n\n', 'no field injection');
});
