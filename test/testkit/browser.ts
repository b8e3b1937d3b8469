// A real browser for console tests: Debian's chromium driven by playwright-core (never a browser
// download), headless, with a fresh profile per launch. One browser per test file keeps them fast.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** `extraArgs`: more chromium flags (e.g. `--host-resolver-rules=MAP name 127.0.0.1`). */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      ...extraArgs,
    ],
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where the screenshots for docs/console.md go (committed with the docs). */
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../docs/images/console');

/**
 * Takes a screenshot of the page. The committed ones in docs/images/console are rewritten only with
 * GATEHOUSE_SCREENSHOTS=1 (`GATEHOUSE_SCREENSHOTS=1 npx vitest run test/console-browser.test.ts`), so
 * a test run leaves the checkout clean; otherwise the picture is still taken (it must render) and
 * dropped.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.GATEHOUSE_SCREENSHOTS !== '1') {
    const png = await page.screenshot({ fullPage: false });
    if (png.length === 0) throw new Error(`screenshot ${name} is empty`);
    return;
  }
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
}
