/**
 * The dashboard's static assets: one JS module and one stylesheet, bundled by esbuild from
 * `client/` (Lit light-DOM components), plus the status favicons.
 *
 * When: the first time a frontend process is asked for them (or `buildDashboardAssets()` is called,
 * as `npm run build:dashboard` does), once per process (~100-300 ms), from the sources next to this
 * file — so a fresh clone, `npm ci`, CI and the Docker image (which runs the sources through tsx)
 * need no build step. The result is also written to `dist/dashboard/` of this package under a content
 * hash when the directory is writable, and read from there by later processes: the bundle is built
 * once per source version, not per test. URLs carry the hash of the sources, so browsers may cache
 * them forever (`immutable`) and a new version is never mixed with an old one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DashboardAssets {
  js: Buffer;
  css: Buffer;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The client sources: next to this file when run from `src`, or back in `src` when run from `dist`. */
function clientDir(): string {
  for (const dir of [join(here, 'client'), join(here, '../../src/dashboard/client')]) {
    if (existsSync(join(dir, 'main.ts'))) return dir;
  }
  throw new Error(`the dashboard client sources are missing (looked in ${here}/client)`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|css)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

let hashMemo: string | null = null;

/** 12 hex of the sha256 of every client source file (and lit's version): names the bundle. */
export function assetHash(): string {
  if (hashMemo) return hashMemo;
  const dir = clientDir();
  const h = createHash('sha256');
  for (const file of sourceFiles(dir)) h.update(file.slice(dir.length)).update('\0').update(readFileSync(file));
  hashMemo = h.digest('hex').slice(0, 12);
  return hashMemo;
}

let assetsMemo: Promise<DashboardAssets> | null = null;

/** The bundle for the current sources: memory, else the disk cache, else esbuild. */
export function dashboardAssets(): Promise<DashboardAssets> {
  assetsMemo ??= loadOrBuild().catch((err) => {
    assetsMemo = null; // try again on the next request
    throw err;
  });
  return assetsMemo;
}

function cacheDir(): string {
  return join(here, '../../dist/dashboard');
}

async function loadOrBuild(): Promise<DashboardAssets> {
  const hash = assetHash();
  const js = join(cacheDir(), `app.${hash}.js`);
  const css = join(cacheDir(), `app.${hash}.css`);
  try {
    return { js: await readFile(js), css: await readFile(css) };
  } catch {}
  const built = await buildDashboardAssets();
  try {
    // Written under a name of this process, then renamed: concurrent processes (parallel test files)
    // never read a half-written file, and the last rename wins with identical bytes.
    await mkdir(cacheDir(), { recursive: true });
    const tmp = `.${process.pid}.${Date.now()}.tmp`;
    await writeFile(`${js}${tmp}`, built.js);
    await writeFile(`${css}${tmp}`, built.css);
    await rename(`${css}${tmp}`, css);
    await rename(`${js}${tmp}`, js);
  } catch {
    // a read-only install (the Docker image runs as `node` over root-owned files): memory only
  }
  return built;
}

/** esbuild: one minified ES module for browsers, and the stylesheet. */
export async function buildDashboardAssets(): Promise<DashboardAssets> {
  const { build } = await import('esbuild');
  const dir = clientDir();
  const common = { bundle: true, minify: true, write: false, logLevel: 'silent', legalComments: 'none' } as const;
  const [js, css] = await Promise.all([
    build({ ...common, entryPoints: [join(dir, 'main.ts')], format: 'esm', target: ['es2022'], platform: 'browser' }),
    build({ ...common, entryPoints: [join(dir, 'dashboard.css')] }),
  ]);
  return { js: Buffer.from(js.outputFiles[0]!.contents), css: Buffer.from(css.outputFiles[0]!.contents) };
}

/** Status favicons (SVG): a coloured disc and the status icon's shape; the title prefix repeats it in text. */
const FAVICON_COLOURS: Record<string, string> = {
  queued: '#8a8f98',
  pending: '#8a8f98',
  running: '#d29922',
  success: '#2da44e',
  failure: '#cf222e',
  error: '#cf222e',
  cancelled: '#6e7781',
  idle: '#0969da',
};

export function favicon(status: string): string {
  const colour = FAVICON_COLOURS[status] ?? FAVICON_COLOURS.idle!;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="${colour}"/></svg>`;
}

export const FAVICON_STATUSES = Object.keys(FAVICON_COLOURS);
