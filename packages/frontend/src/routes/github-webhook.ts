/**
 * `POST /api/v1/webhooks/github`: GitHub deliveries (JSON or form-encoded `payload=`).
 *
 * 1. The body is kept raw (this route's own content-type parsers) and its `X-Hub-Signature-256` is
 *    checked before anything else, in `preValidation` — wrong or missing → 401 `DISTCI_BAD_SIGNATURE`,
 *    nothing read or written. A missing or malformed header (or no secret here) is refused in
 *    `onRequest`, before the body is read (`webhook-guards.ts`). No bearer token: the signature is the authentication.
 * 2. `X-GitHub-Event` / `X-GitHub-Delivery` are then validated; the payload parsed.
 * 3. `ping` → 200. `push`, `pull_request` → the matching jobs (`match-jobs.ts`) are built through the
 *    inbox (`webhook-inbox.ts`): recorded create-only first, so a redelivery (same `X-GitHub-Delivery`)
 *    answers 200 with the same builds and triggers nothing twice. Other events and actions → 200,
 *    `ignored`.
 * Time: a handful of object-store and coordination round trips plus one config read per job; GitHub
 * gives up after 10 s, measured well under (see the README).
 */
import { distciError, WEBHOOK_NAME } from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { buildRequestOf, matchJobs } from '../github/match-jobs.js';
import { verifySignature } from '../github/signature.js';
import { eventLabel, refuseUnsigned } from '../github/webhook-guards.js';
import { errors } from '../schemas/common.js';
import { buildUrl } from '../urls.js';

const WebhookHeaders = Type.Object({
  'x-github-event': Type.String({ pattern: '^[a-z_]{1,64}$' }),
  'x-github-delivery': Type.String({ pattern: WEBHOOK_NAME.source }),
  'x-hub-signature-256': Type.Optional(Type.String()),
});

const WebhookAnswer = Type.Object({
  event: Type.String(),
  delivery: Type.String(),
  duplicate: Type.Boolean({ description: 'this delivery was received before; nothing new was triggered' }),
  ignored: Type.Boolean({ description: 'the event or action asks for no build' }),
  builds: Type.Array(Type.Object({ job: Type.String(), number: Type.Integer(), url: Type.String() })),
});

function parsePayload(body: Buffer, contentType: string | undefined): unknown {
  try {
    if (contentType?.startsWith('application/x-www-form-urlencoded')) {
      const payload = new URLSearchParams(body.toString('utf8')).get('payload');
      if (payload === null) throw new Error('no payload field');
      return JSON.parse(payload);
    }
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw distciError('DISTCI_BAD_REQUEST', `the webhook body is not a JSON payload: ${(err as Error).message}`, {
      hint: 'configure the GitHub webhook with content type application/json',
      details: { part: 'body' },
    });
  }
}

export const githubWebhookRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { jobs, webhooks } = fastify.distci;
  const options = fastify.frontendOptions;
  // Encapsulated: only this route keeps bodies raw (the signature is over the exact bytes).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer', bodyLimit: options.bodyLimits.webhook },
    (_request, body, done) => done(null, body),
  );

  fastify.post(
    '/api/v1/webhooks/github',
    {
      bodyLimit: options.bodyLimits.webhook,
      config: { auth: 'signature' },
      onRequest: async (request) => {
        try {
          refuseUnsigned(options.githubSecret, request.headers['x-hub-signature-256']);
        } catch (err) {
          fastify.metrics.webhookDeliveries.inc({
            event: eventLabel(request.headers['x-github-event']),
            outcome: 'rejected',
          });
          throw err;
        }
      },
      schema: {
        tags: ['webhooks'],
        summary: 'GitHub webhook (ping, push, pull_request), authenticated by X-Hub-Signature-256',
        security: [],
        headers: WebhookHeaders,
        response: { 200: WebhookAnswer, ...errors(400, 401, 413, 415, 429) },
      },
      preValidation: async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (!verifySignature(options.githubSecret, body, request.headers['x-hub-signature-256'])) {
          const event = eventLabel(request.headers['x-github-event']);
          fastify.metrics.webhookDeliveries.inc({ event, outcome: 'rejected' });
          throw distciError('DISTCI_BAD_SIGNATURE', 'the X-Hub-Signature-256 of this delivery is missing or wrong', {
            hint: options.githubSecret
              ? 'set the same secret in the GitHub webhook and in DISTCI_GITHUB_SECRET'
              : 'this frontend has no DISTCI_GITHUB_SECRET: it accepts no webhook',
          });
        }
      },
    },
    async (request) => {
      const event = request.headers['x-github-event'];
      const delivery = request.headers['x-github-delivery'];
      const payload = parsePayload(request.body as Buffer, request.headers['content-type']);
      const answer = {
        event,
        delivery,
        duplicate: false,
        ignored: false,
        builds: [] as Array<{ job: string; number: number; url: string }>,
      };
      if (event === 'ping') return answer;
      const req = buildRequestOf(event, payload);
      if (typeof req === 'string') {
        throw distciError('DISTCI_BAD_REQUEST', `the ${event} payload is not valid: ${req}`, {
          details: { part: 'body' },
        });
      }
      if (req === null) {
        fastify.metrics.webhookDeliveries.inc({ event: eventLabel(event), outcome: 'ignored' });
        return { ...answer, ignored: true };
      }
      const received = await webhooks.receive(delivery, async () => {
        const matched = await matchJobs(jobs, req);
        if (matched.length === 0) return null;
        return {
          v: 1,
          delivery,
          event: req.event,
          receivedAt: Date.now(),
          sender: req.sender,
          ...(req.fork ? { fork: true } : {}),
          ...(req.repo ? { repo: req.repo } : {}),
          targets: await webhooks.targets(matched, req.ref, req.commit),
          done: false,
        };
      });
      if (!received) {
        fastify.metrics.webhookDeliveries.inc({ event: eventLabel(event), outcome: 'ignored' });
        return { ...answer, ignored: true };
      }
      const { record, duplicate, triggered } = received;
      fastify.metrics.webhookDeliveries.inc({
        event: eventLabel(event),
        outcome: duplicate ? 'duplicate' : 'triggered',
      });
      if (triggered) fastify.metrics.buildsTriggered.inc({ trigger: 'github' }, triggered);
      request.log.info(
        { delivery, event, duplicate, triggered, builds: record.targets.map((t) => `${t.job}#${t.build}`) },
        'github delivery',
      );
      return {
        ...answer,
        duplicate,
        builds: record.targets
          .filter((t) => t.build !== null)
          .map((t) => ({ job: t.job, number: t.build!, url: buildUrl(options, t.job, t.build!) })),
      };
    },
  );
};
