/**
 * Server-sent events: the response is hijacked from fastify and written by hand.
 *
 * Framing: an event is `id:`, `event:` and `data:` lines and a blank line. distci's `data` is always
 * one line of JSON (a JSON text never holds a raw newline or carriage return: `JSON.stringify` escapes
 * them), so a payload can never break the framing, whatever bytes a log holds. `formatEvent` still
 * splits a multi-line `data` into several `data:` lines (the SSE rule; a client rejoins them with
 * `\n`) so that it is correct for any caller.
 *
 * Lifetime: a stream ends when its producer calls `end()`, when the client goes away (`signal` aborts),
 * or when the app closes (every open stream is ended in `preClose`, so `app.close()` never waits on a
 * client). A comment line is sent every 15 s so that proxies do not drop an idle stream. Writes respect
 * backpressure: `send` resolves once the socket took the bytes (or the stream ended).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** 15 s: below the 30-60 s idle timeouts of common proxies and load balancers. */
export const KEEPALIVE_MS = 15_000;
/** 2 s: how long an EventSource waits before reconnecting after the stream drops. */
export const RETRY_MS = 2000;

export interface SseEvent {
  id?: string | number;
  event?: string;
  data: string;
}

export interface SseStream {
  /** Aborts when the client disconnects, the app closes, or `end()` is called. */
  readonly signal: AbortSignal;
  send(event: SseEvent): Promise<void>;
  end(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    sseStreams: Set<SseStream>;
  }
}

/** One event in SSE framing. */
export function formatEvent({ id, event, data }: SseEvent): string {
  let out = '';
  if (id !== undefined) out += `id: ${String(id).replace(/[\r\n]/g, '')}\n`;
  if (event !== undefined) out += `event: ${event.replace(/[\r\n]/g, '')}\n`;
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** The `Last-Event-ID` a client resumes from, as a non-negative integer, or null. */
export function lastEventId(request: FastifyRequest): number | null {
  const raw = request.headers['last-event-id'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) return null;
  return Number(value.trim());
}

export function openSse(fastify: FastifyInstance, reply: FastifyReply, stream: 'events' | 'logs'): SseStream {
  const controller = new AbortController();
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  raw.write(`retry: ${RETRY_MS}\n\n`);
  const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  fastify.metrics.sseStreams.inc({ stream });
  const sse: SseStream = {
    signal: controller.signal,
    async send(event) {
      if (controller.signal.aborted) return;
      if (raw.write(formatEvent(event))) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          raw.off('drain', done);
          controller.signal.removeEventListener('abort', done);
          resolve();
        };
        raw.on('drain', done);
        controller.signal.addEventListener('abort', done, { once: true });
      });
    },
    end() {
      if (controller.signal.aborted) return;
      controller.abort();
    },
  };
  const finish = () => {
    clearInterval(keepalive);
    fastify.sseStreams.delete(sse);
    fastify.metrics.sseStreams.dec({ stream });
    if (!raw.writableEnded) raw.end();
  };
  controller.signal.addEventListener('abort', finish, { once: true });
  raw.on('close', () => sse.end());
  fastify.sseStreams.add(sse);
  return sse;
}

/** Keeps the set of open streams and ends them all when the app closes. */
export const ssePlugin = fp(
  async (fastify: FastifyInstance) => {
    fastify.decorate('sseStreams', new Set<SseStream>());
    fastify.addHook('preClose', async () => {
      for (const s of [...fastify.sseStreams]) s.end();
    });
  },
  { name: 'distci-sse', dependencies: ['distci-metrics'] },
);
