/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against a real frontend
 * (listening on 127.0.0.1) with real control and exec-shell workers on embedded storage.
 *
 * - a running DAG build with a matrix updates live (queued/running → success) without a reload;
 * - a malicious log line and ANSI escapes render as text, coloured, and nothing runs;
 * - permalinks (`#L250`, click, shift-click) and search with the true match count;
 * - with JavaScript disabled, the overview and the build page still list builds and steps.
 * No request leaves loopback and no CSP violation is reported.
 *
 * chromium missing: skipped on a workstation, a failure in CI (`CI` set) — never a silent skip there.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import t from 'tap';
import { AUTH, embeddedStorage, testFrontend } from '../helpers/frontend.js';
import { startWorkers } from '../helpers/workers.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  if (process.env.CI) {
    t.fail(`chromium is not installed at ${CHROMIUM}: the dashboard browser tests need it (apt-get install chromium)`);
  } else {
    t.plan(0, `chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`);
  }
} else {
  const storage = await embeddedStorage(t);
  const { app } = await testFrontend(t, storage);
  // isolation none: the gated step waits for a file of the test's, which a sandbox would not see.
  await startWorkers(t, storage, { control: 1, 'exec-shell': 1 }, 'none');
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const dir = await mkdtemp(join(tmpdir(), 'distci-dash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM });
  t.teardown(() => browser.close());

  const problems: string[] = [];
  async function newPage(javaScriptEnabled = true): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    await page.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === '127.0.0.1') return route.continue();
      problems.push(`request off loopback: ${route.request().url()}`);
      return route.abort();
    });
    page.on('console', (m) => {
      if (/Content Security Policy/.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    return page;
  }

  async function api(method: string, path: string, payload?: unknown) {
    const res = await app.inject({
      method: method as 'POST',
      url: `/api/v1${path}`,
      headers: AUTH,
      payload: payload as never,
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.json();
  }

  const gate = join(dir, 'gate');
  await api('POST', '/jobs', {
    name: 'live',
    env: { GATE: gate },
    steps: [
      { name: 'wait', type: 'exec-shell', run: 'while [ ! -e "$GATE" ]; do sleep 0.05; done; echo opened' },
      { name: 'check', type: 'exec-shell', needs: ['wait'], matrix: { n: ['1', '2'] }, run: 'echo check $n' },
    ],
  });
  const lines = Array.from({ length: 300 }, (_, i) =>
    i === 150 ? 'NEEDLE and NEEDLE' : i % 100 === 7 ? `row ${i + 1} NEEDLE` : `row ${i + 1}`,
  );
  await api('POST', '/jobs', {
    name: 'evil',
    description: 'prints <b>markup</b>',
    steps: [
      {
        name: 'print',
        type: 'exec-shell',
        run: `cat <<'EOF'\n${lines.join('\n')}\nEOF\necho '<img src=x onerror=window.__pwned=1>'\nprintf '\\033[31mred error\\033[0m plain\\n'`,
      },
    ],
  });
  const NEEDLES = lines.join('\n').split('NEEDLE').length - 1; // 5: rows 8, 108, 208 once, row 151 twice

  await t.test('a running DAG build with a matrix updates live, without a reload', async (t) => {
    const { number } = await api('POST', '/jobs/live/builds');
    const page = await newPage();
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    await page.goto(`${base}/jobs/live/builds/${number}`);
    await page.locator('tr[data-step="wait"][data-status="running"]').waitFor({ timeout: 30_000 });
    t.equal(await page.locator('svg.dag .node').count(), 2, 'matrix legs folded: 2 nodes');
    t.equal(await page.locator('svg.dag .edge').count(), 1, 'one edge: wait → check');
    t.match(await page.locator('svg.dag .node[data-step="check"]').textContent(), /check ×2/);
    t.match(await page.locator('tr[data-step="check[n=1]"] .why').textContent(), /waiting: needs: wait/);
    await writeFile(gate, '');
    await page.locator('main[data-status="success"]').waitFor({ timeout: 30_000 });
    t.equal(await page.locator('tr[data-step][data-status="success"]').count(), 3, 'every step shows success');
    t.match(await page.title(), /^✓ #\d+ live/, 'the title carries the status');
    t.match(await page.locator('link[rel="icon"]').getAttribute('href'), /favicon-success\.svg$/);
    t.equal(navigations, 1, 'no reload');
    await page.context().close();
  });

  await t.test('a malicious log line and ANSI escapes are text; permalinks and search', async (t) => {
    const { number } = await api('POST', '/jobs/evil/builds');
    const page = await newPage();
    await page.goto(`${base}/jobs/evil/builds/${number}/steps/print#L250`);
    await page.locator('ci-log .log-status', { hasText: 'complete' }).waitFor({ timeout: 30_000 });
    const selected = page.locator('.log-row.selected');
    t.equal(await selected.count(), 1);
    t.equal(await selected.getAttribute('data-line'), '250', '#L250 is highlighted');
    t.ok(await selected.isVisible(), 'and scrolled into view');
    t.ok((await page.locator('.log-row').count()) < 300, 'not every line is in the DOM');

    await page.keyboard.press('End');
    const evil = page.locator('.log-row[data-line="301"] .lt');
    await evil.waitFor();
    t.equal(await evil.textContent(), '<img src=x onerror=window.__pwned=1>', 'the line is shown as text');
    t.equal(await page.locator('main img').count(), 0, 'no img element');
    t.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined, 'nothing ran');
    const red = page.locator('.log-row[data-line="302"] .fc1');
    t.equal(await red.textContent(), 'red error', 'SGR 31 is colour class 1, the escapes are gone');
    t.equal(await page.locator('.log-row[data-line="302"] .lt').textContent(), 'red error plain');

    await page.keyboard.press('Home');
    await page.locator('.log-row[data-line="10"] .ln').click();
    t.equal(new URL(page.url()).hash, '#L10');
    await page.locator('.log-row[data-line="12"] .ln').click({ modifiers: ['Shift'] });
    t.equal(new URL(page.url()).hash, '#L10-L12');
    t.same(
      await page.locator('.log-row.selected').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-line'))),
      ['10', '11', '12'],
    );

    await page.locator('.log-search input').fill('needle');
    await page.locator('.log-count', { hasText: 'matches' }).waitFor();
    t.equal(await page.locator('.log-count').textContent(), `${NEEDLES} matches`, 'the true count');
    await page.locator('.log-search input').press('Enter');
    await page.locator('.log-row.current[data-line="8"]').waitFor();
    t.equal(await page.locator('.log-row.current mark').count(), 1);

    // The page refreshed itself when the build ended (its header is live): the viewer kept its stream
    // and its lines — reopening the stream on that refresh appended the whole log a second time.
    await page.locator('main[data-status="success"]').waitFor();
    const raw = (await app.inject({ url: `/api/v1/jobs/evil/builds/${number}/logs/print`, headers: AUTH })).body;
    const expected = raw.endsWith('\n') ? raw.split('\n').length - 1 : raw.split('\n').length;
    t.equal(await page.locator('.log-status').textContent(), `${expected} lines · complete`, 'every line once');
    await page.context().close();
  });

  await t.test('with JavaScript disabled, pages still list builds and steps', async (t) => {
    const page = await newPage(false);
    await page.goto(`${base}/`);
    t.ok((await page.locator('tr[data-build="evil/1"]').count()) >= 1, 'the overview lists the build');
    await page.goto(`${base}/jobs/live/builds/1`);
    t.equal(await page.locator('tr[data-step]').count(), 3, 'the build page lists its steps');
    t.equal(await page.locator('svg.dag .node').count(), 2, 'and its graph');
    await page.goto(`${base}/jobs/evil/builds/1/steps/print`);
    t.ok(await page.locator('ci-log .nojs a').isVisible(), 'the log page links the raw log');
    await page.context().close();
  });

  t.same(problems, [], 'no CSP violation, page error or request off loopback');
}
