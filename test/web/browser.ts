import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { IMAGE_SIZE } from '../../src/data/mnist.js';

/** Debian's Chromium (`apt-get install chromium`), never a browser playwright downloads. */
export function chromiumPath(): string | undefined {
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore', timeout: 20_000 });
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Headless, offline-quiet, with a fresh profile in a temporary folder removed on close. */
export async function launchChromium(executablePath: string, viewport = { width: 1360, height: 1400 }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'mnist-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Builds the page bundle (web/dist) the server serves. */
export function buildPage(): void {
  execFileSync(process.execPath, [path.join(import.meta.dirname, '../../scripts/build-web.mjs')], { stdio: 'ignore' });
}

/**
 * Traces an MNIST image on the drawing pad with the mouse: every row's runs of ink become a
 * horizontal stroke across the pad, the digit filling the pad as it fills its 28×28 field.
 */
export async function traceDigit(page: Page, pixels: Uint8Array, threshold = 110): Promise<void> {
  const box = (await page.locator('#pad').boundingBox())!;
  const cell = box.width / IMAGE_SIZE;
  const at = (x: number, y: number) => [box.x + (x + 0.5) * cell, box.y + (y + 0.5) * box.height / IMAGE_SIZE] as const;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    let x = 0;
    while (x < IMAGE_SIZE) {
      if (pixels[y * IMAGE_SIZE + x] <= threshold) {
        x++;
        continue;
      }
      const start = x;
      while (x + 1 < IMAGE_SIZE && pixels[y * IMAGE_SIZE + x + 1] > threshold) x++;
      await page.mouse.move(...at(start, y));
      await page.mouse.down();
      await page.mouse.move(...at(x, y), { steps: 2 });
      await page.mouse.up();
      x++;
    }
  }
}
