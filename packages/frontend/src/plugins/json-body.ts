/**
 * The JSON body parser: fastify's own (secure-json-parse: `__proto__` and `constructor.prototype` keys
 * refused), behind a nesting-depth check. A body nested 100,000 levels deep parsed fine and then blew
 * the stack of the validators that walk it (a 500); it is now a 400 `DISTCI_JSON_TOO_DEEP` before
 * anything parses it. The scan is one pass over the text (strings skipped), so it costs less than the
 * parse it guards.
 */
import { distciError } from '@distci/common';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** 64 levels: a job config nests 6 deep (job → steps → step → matrix → axis → value); GitHub payloads ~10. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in `text` (JSON), stopping early past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export const jsonBodyPlugin = fp(
  async (fastify: FastifyInstance) => {
    const parse = fastify.getDefaultJsonParser('error', 'error');
    fastify.removeContentTypeParser('application/json');
    fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = body as string;
      if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
        done(
          distciError('DISTCI_JSON_TOO_DEEP', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, {
            details: { part: 'body', limit: MAX_JSON_DEPTH },
          }),
          undefined,
        );
        return;
      }
      parse(request, text, done);
    });
  },
  { name: 'distci-json-body' },
);
