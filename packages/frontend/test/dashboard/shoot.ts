/**
 * Screenshots of the dashboard against a running frontend (e.g. `npx distci dev` with a few builds):
 *   node --import tsx packages/frontend/test/dashboard/shoot.ts http://127.0.0.1:8080 out-dir [path…]
 * Each path is shot in the light and the dark scheme (`<name>-light.png`, `<name>-dark.png`).
 */
import { chromium } from 'playwright-core';

const [base, out = 'docs/screenshots', ...paths] = process.argv.slice(2);
if (!base) throw new Error('usage: shoot.ts <base-url> [out-dir] [name=path…]');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' });
try {
  for (const scheme of ['light', 'dark'] as const) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
    for (const spec of paths) {
      const [name, path] = spec.split('=') as [string, string];
      await page.goto(base + path, { waitUntil: 'load' });
      await page.waitForTimeout(1200); // live parts settle (log stream, relative times)
      await page.screenshot({ path: `${out}/${name}-${scheme}.png` });
      console.log(`${out}/${name}-${scheme}.png`);
    }
    await page.close();
  }
} finally {
  await browser.close();
}
