/**
 * The web dashboard as one fastify plugin (registered by `app.ts` in one line). Server-rendered pages
 * (they work with JavaScript off), each also served as its `<main>` alone for live refreshes
 * (`X-Distci-Fragment: main`), the client bundle and stylesheet, favicons, and two form posts (cancel,
 * retry) that work without JS.
 *
 * Routes (all GET but the two forms):
 *   /                                   overview
 *   /builds?job&status&trigger&ref      builds across jobs
 *   /jobs/:job                          a job: history, pass rate, trend, config
 *   /jobs/:job/builds/:n                a build
 *   /jobs/:job/builds/:n/steps/:step    a step and its log
 *   /queue, /workers
 *   POST /jobs/:job/builds/:n/cancel, POST /jobs/:job/builds/:n/steps/:step/retry   (form: token=…)
 *   POST /jobs/:job/builds/:n/retry   (form: token=…): retry the failed steps
 *   /dashboard/assets/app.<hash>.js|css, /dashboard/assets/favicon-<status>.svg
 *
 * Every page has a strict CSP (`layout.ts`: no inline script or style, this origin only) and escapes
 * every value (`html.ts`). The forms carry the API token in their body: that token *is* the
 * credential, so a cross-site form cannot forge one (CSRF needs an ambient credential; there is none).
 * The encapsulated error handler answers HTML for these routes only; the API's stay JSON.
 */
import { distciError, isDistciError, JOB_NAME } from '@distci/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listArtifacts } from '../artifact-list.js';
import { authenticate } from '../plugins/auth.js';
import { errorAnswer } from '../plugins/error-handler.js';
import { assetHash, dashboardAssets, FAVICON_STATUSES, favicon } from './assets.js';
import { jobBuilds, jobConfigOrNull, listJobNames, pageSteps, recentBuilds } from './data.js';
import { urls } from './format.js';
import { mainElement, PAGE_CSP, type PageOptions, renderPage } from './layout.js';
import { buildBody } from './pages/build-page.js';
import { buildsBody, matches, parseFilters } from './pages/builds-page.js';
import { errorBody } from './pages/error-page.js';
import { jobBody } from './pages/job-page.js';
import { loginBody } from './pages/login-page.js';
import { overviewBody } from './pages/overview-page.js';
import { queueBody } from './pages/queue-page.js';
import { stepBody } from './pages/step-page.js';
import { workersBody } from './pages/workers-page.js';
import { tokenCookie, tokenFromCookie } from './token-cookie.js';

/** 10: builds per job the overview and the unfiltered builds list read (one `readBuild` each). */
const PER_JOB = 10;
/** 50: builds of one job on its page and on the builds list filtered to it. */
const ONE_JOB = 50;
/** 15 s: how often pages without an SSE source (overview, queue, workers) refresh themselves. */
const REFRESH_MS = 15_000;
/** 4 KiB: a form body holds a token (≤ 1 KiB) and nothing else. */
const FORM_LIMIT = 4096;

/** The first 6 live builds of a list, as `job/number`: the page follows them and reloads when one ends. */
function liveOnes(builds: ReadonlyArray<{ job: string; number: number; live: boolean }>): string[] {
  return builds
    .filter((b) => b.live)
    .slice(0, 6)
    .map((b) => `${b.job}/${b.number}`);
}

function sendPage(request: FastifyRequest, reply: FastifyReply, page: PageOptions, status = 200): FastifyReply {
  reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .header('vary', 'x-distci-fragment');
  const fragment = request.headers['x-distci-fragment'] === 'main';
  return reply.send((fragment ? mainElement(page) : renderPage(page)).value);
}

function jobParam(job: string): string {
  if (!JOB_NAME.test(job)) throw distciError('DISTCI_JOB_NOT_FOUND', `there is no job '${job}'`);
  return job;
}

function numberParam(n: string): number {
  const number = /^[1-9]\d{0,9}$/.test(n) ? Number(n) : Number.NaN;
  if (!Number.isSafeInteger(number)) throw distciError('DISTCI_BUILD_NOT_FOUND', `there is no build '${n}'`);
  return number;
}

interface FormBody {
  token?: string;
}

export async function dashboardPlugin(fastify: FastifyInstance): Promise<void> {
  const { distci } = fastify;
  const { tokenDigests, readAuth, publicUrl } = fastify.frontendOptions;
  const secureCookie = publicUrl?.startsWith('https:') ?? false;
  assetHash(); // fail at start, not on the first page, if the client sources are missing

  // Pages are not the API: kept out of the OpenAPI document (`docs/api.md` lists them). Their auth is
  // checked here (`pageAuth`), so that a missing token gets the login page rather than a JSON 401.
  fastify.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
    if (route.method === 'GET' || (Array.isArray(route.method) && route.method.includes('GET'))) {
      route.config = { ...route.config, auth: 'public' };
    }
  });

  /** With `DISTCI_READ_AUTH=token`, a page needs the login cookie (or a bearer header); else the login page. */
  fastify.addHook('preHandler', async (request, reply) => {
    if (readAuth !== 'token' || request.method !== 'GET' || request.url.startsWith('/dashboard/assets/')) return;
    const token = tokenFromCookie(request.headers.cookie);
    request.caller =
      authenticate(request.headers.authorization, tokenDigests) ??
      (token ? authenticate(`Bearer ${token}`, tokenDigests) : null);
    if (request.caller) return;
    return sendPage(
      request,
      reply,
      { title: 'Log in', nav: 'none', body: loginBody(request.url, token !== null) },
      401,
    );
  });

  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  fastify.setErrorHandler((error, request, reply) => {
    const { status, body } = errorAnswer(error, request);
    if (status >= 500) request.log.error({ err: error, code: body.code }, 'dashboard page failed');
    const code = isDistciError(error, 'DISTCI_NO_NODE') ? 404 : status;
    return sendPage(
      request,
      reply,
      {
        title: code === 404 ? 'Not found' : 'Error',
        nav: 'none',
        body: errorBody(code, body.code, body.message, body.requestId),
      },
      code,
    );
  });

  const queue = () => distci.tickets.queue();

  fastify.get('/', async (request, reply) => {
    const now = Date.now();
    const [builds, q] = await Promise.all([
      listJobNames(distci).then((jobs) => recentBuilds(distci, jobs, PER_JOB)),
      queue(),
    ]);
    return sendPage(request, reply, {
      title: 'Overview',
      nav: 'overview',
      live: { builds: liveOnes(builds), refreshMs: REFRESH_MS },
      body: overviewBody({ builds, queue: q, now }),
    });
  });

  fastify.get('/builds', async (request, reply) => {
    const now = Date.now();
    const filters = parseFilters(request.query as Record<string, unknown>);
    const jobs = await listJobNames(distci);
    let builds =
      filters.job && JOB_NAME.test(filters.job)
        ? await recentBuilds(distci, jobs.includes(filters.job) ? [filters.job] : [], ONE_JOB)
        : await recentBuilds(distci, jobs, PER_JOB);
    builds = builds.filter((b) => matches(b, filters));
    return sendPage(request, reply, {
      title: 'Builds',
      nav: 'builds',
      live: { builds: liveOnes(builds), refreshMs: REFRESH_MS },
      body: buildsBody(builds, jobs, filters, now, filters.job ? ONE_JOB : PER_JOB),
    });
  });

  fastify.get<{ Params: { job: string } }>('/jobs/:job', async (request, reply) => {
    const job = jobParam(request.params.job);
    const stored = await jobConfigOrNull(distci, job);
    const builds = await jobBuilds(distci, job, ONE_JOB);
    if (!stored && builds.length === 0) throw distciError('DISTCI_JOB_NOT_FOUND', `there is no job '${job}'`);
    return sendPage(request, reply, {
      title: job,
      nav: 'builds',
      live: { builds: liveOnes(builds) },
      body: jobBody(job, stored, builds, Date.now()),
    });
  });

  async function buildPage(
    request: FastifyRequest,
    job: string,
    n: number,
    notice: string | null,
  ): Promise<PageOptions> {
    const build = await distci.builds.read(job, n);
    const [{ steps, graph }, artifacts] = await Promise.all([
      pageSteps(distci, build, queue),
      build.live ? Promise.resolve([]) : listArtifacts(distci, job, n, request.log),
    ]);
    return {
      title: `#${n} ${job}`,
      nav: 'builds',
      status: build.status,
      live: { builds: build.live ? [`${job}/${n}`] : [] },
      body: buildBody({ build, steps, graph, artifacts, now: Date.now(), notice }),
    };
  }

  fastify.get<{ Params: { job: string; n: string }; Querystring: { notice?: string } }>(
    '/jobs/:job/builds/:n',
    async (request, reply) => {
      const notice = request.query.notice === 'cancelled' ? 'Cancel requested.' : null;
      return sendPage(
        request,
        reply,
        await buildPage(request, jobParam(request.params.job), numberParam(request.params.n), notice),
      );
    },
  );

  fastify.get<{ Params: { job: string; n: string; step: string } }>(
    '/jobs/:job/builds/:n/steps/:step',
    async (request, reply) => {
      const job = jobParam(request.params.job);
      const n = numberParam(request.params.n);
      const build = await distci.builds.read(job, n);
      const { steps } = await pageSteps(distci, build, queue);
      const step = steps.find((s) => s.id === request.params.step);
      if (!step) {
        throw distciError('DISTCI_NOT_FOUND', `build ${n} of '${job}' has no step '${request.params.step}'`);
      }
      return sendPage(request, reply, {
        title: `${step.id} · #${n} ${job}`,
        nav: 'builds',
        status: step.status,
        live: { builds: build.live ? [`${job}/${n}`] : [] },
        body: stepBody(build, step, Date.now()),
      });
    },
  );

  fastify.get('/queue', async (request, reply) =>
    sendPage(request, reply, {
      title: 'Queue',
      nav: 'queue',
      live: { refreshMs: REFRESH_MS / 3 },
      body: queueBody(await queue()),
    }),
  );

  fastify.get('/workers', async (request, reply) =>
    sendPage(request, reply, {
      title: 'Workers',
      nav: 'workers',
      live: { refreshMs: REFRESH_MS },
      body: workersBody(await distci.tickets.workers()),
    }),
  );

  /** The form's token, checked like a bearer token; a refusal is a 401 page. */
  function formCaller(request: FastifyRequest): string {
    const token = (request.body as FormBody | undefined)?.token ?? '';
    const caller = authenticate(`Bearer ${token}`, tokenDigests);
    if (!caller) {
      throw distciError('DISTCI_UNAUTHORIZED', token ? 'the token is not valid' : 'enter an API token to do this');
    }
    return caller;
  }

  const formRoute = { config: { auth: 'signature' as const } }; // the body carries the credential: checked here

  fastify.post<{ Params: { job: string; n: string } }>(
    '/jobs/:job/builds/:n/cancel',
    formRoute,
    async (request, reply) => {
      const job = jobParam(request.params.job);
      const n = numberParam(request.params.n);
      const caller = formCaller(request);
      if (!(await distci.builds.cancel(job, n, caller))) {
        const build = await distci.builds.read(job, n);
        throw distciError('DISTCI_BUILD_FINISHED', `build ${n} of '${job}' finished already (${build.status})`);
      }
      return reply.redirect(`${urls.build(job, n)}?notice=cancelled`, 303);
    },
  );

  // Retry one step (`…/steps/:step/retry`) or every step that did not succeed (`…/retry`): a new build.
  const retryForm = async (
    request: FastifyRequest<{ Params: { job: string; n: string; step?: string } }>,
    reply: FastifyReply,
  ) => {
    const job = jobParam(request.params.job);
    const n = numberParam(request.params.n);
    const caller = formCaller(request);
    const { step } = request.params;
    const number = await distci.builds.retry(
      step ? { job, build: n, step, by: caller } : { job, build: n, failed: true, by: caller },
    );
    fastify.metrics.buildsTriggered.inc({ trigger: 'retry' });
    return reply.redirect(urls.build(job, number), 303);
  };
  fastify.post('/jobs/:job/builds/:n/steps/:step/retry', formRoute, retryForm);
  fastify.post('/jobs/:job/builds/:n/retry', formRoute, retryForm);

  fastify.post('/login', formRoute, async (request, reply) => {
    const token = (request.body as FormBody | undefined)?.token ?? '';
    formCaller(request);
    const next = (request.body as { next?: string } | undefined)?.next ?? '/';
    const safe = /^\/(?![/\\])/.test(next) ? next : '/'; // this site's paths only: never an open redirect
    return reply.header('set-cookie', tokenCookie(token, secureCookie)).redirect(safe, 303);
  });

  fastify.post('/logout', formRoute, async (_request, reply) =>
    reply.header('set-cookie', tokenCookie(null, secureCookie)).redirect('/', 303),
  );

  // Assets: immutable under their content hash; a stale hash is a 404 (the page that asked is older than this frontend).
  fastify.get<{ Params: { file: string } }>(
    '/dashboard/assets/:file',
    { config: { auth: 'public' } },
    async (request, reply) => {
      const { file } = request.params;
      const hash = assetHash();
      const icon = /^favicon-([a-z]+)\.svg$/.exec(file);
      if (icon && FAVICON_STATUSES.includes(icon[1]!)) {
        return reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(favicon(icon[1]!));
      }
      if (file !== `app.${hash}.js` && file !== `app.${hash}.css`) {
        throw distciError('DISTCI_NOT_FOUND', `no dashboard asset '${file}'`);
      }
      const assets = await dashboardAssets();
      return reply
        .type(file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .send(file.endsWith('.js') ? assets.js : assets.css);
    },
  );
}
