// Smoke test of the browser harness: playwright-core drives Debian's chromium (never a
// downloaded browser). Usage: node smoke.mjs [screenshot.png]
// CHROMIUM overrides the browser path; --no-sandbox is needed because CI runs as root.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const shot = process.argv[2] || join(tmpdir(), 'bulwark-smoke.png');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
  headless: true,
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 400 } });
  await page.goto('data:text/html,<h1>ok</h1>');
  const h1 = (await page.textContent('h1'))?.trim();
  if (h1 !== 'ok') throw new Error(`expected <h1>ok</h1>, got ${JSON.stringify(h1)}`);
  await page.screenshot({ path: shot });
  console.log(`browser ${browser.version()}`);
  console.log(`h1: ${h1}`);
  console.log(`screenshot: ${shot}`);
} finally {
  await browser.close();
}
