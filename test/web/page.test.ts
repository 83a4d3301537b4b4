import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, requirement, test } from '../helpers/requirements.js';
import type { Page } from 'playwright-core';
import { IMAGE_PIXELS } from '../../src/data/mnist.js';
import { predictDigits } from '../../src/predict/predict.js';
import { buildPage, chromiumPath, launchChromium, traceDigit } from './browser.js';
import { trainedServer, type TrainedServer } from './fixture.js';

/**
 * End to end in Debian's Chromium (headless, driven by playwright-core): draw real MNIST digits
 * with the mouse, train from the page, browse mistakes, take a screenshot.
 * MNIST_SCREENSHOT=path chooses where the screenshot goes (default: the temp folder).
 */
const executable = chromiumPath();
const SCREENSHOT = process.env.MNIST_SCREENSHOT ?? path.join(os.tmpdir(), 'mnist-serve-page.png');
const SLOW = { timeout: 300_000 };

const skip = requirement('Chromium', executable ? undefined : 'not found, or no answer to --version in 20 s (apt-get install chromium, or set CHROMIUM_PATH)');

describe('the web page in Chromium', { skip }, () => {
  let fx: TrainedServer;
  let page: Page;
  let closeBrowser: () => Promise<void>;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    buildPage();
    fx = await trainedServer();
    const browser = await launchChromium(executable!);
    closeBrowser = browser.close;
    page = await browser.context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(fx.server.url) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(fx.server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  }, SLOW);

  after(async () => {
    await closeBrowser?.();
    await fx?.close();
  });

  test('drawing real MNIST test digits with the mouse gives the right prediction', SLOW, async () => {
    // Digits the model recognises confidently as MNIST images, three different ones.
    const model = fx.server.store.model().model;
    const test = fx.data.test;
    const chosen: number[] = [];
    for (let i = 0; chosen.length < 3; i++) {
      const [p] = predictDigits(model, [Float32Array.from(test.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS), (v) => v / 255)]);
      if (p.digit === test.labels[i] && p.probabilities[p.digit] > 0.9 && !chosen.some((c) => test.labels[c] === test.labels[i])) chosen.push(i);
    }
    for (const i of chosen) {
      await page.click('#clear');
      assert.equal(await page.getAttribute('#digit', 'data-digit'), null, 'cleared');
      await traceDigit(page, test.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS));
      await page.waitForSelector('body[data-predicting="0"]');
      const shown = await page.getAttribute('#digit', 'data-digit');
      assert.equal(shown, String(test.labels[i]), `test image #${i} (a ${test.labels[i]}) drawn on the pad was read as ${shown}`);
      const topBar = await page.getAttribute('.bar.top', 'data-digit');
      assert.equal(topBar, String(test.labels[i]));
    }
    const previewInk = await page.evaluate(() => {
      const c = document.getElementById('preview') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, 28, 28).data).filter((v, k) => k % 4 === 0 && v > 128).length;
    });
    assert.ok(previewInk > 40, `the 28×28 preview shows the digit (${previewInk} bright pixels)`);
  });

  test('a training run started from the page feeds the live charts and the checkpoint table', SLOW, async () => {
    const points = () => page.$$eval('.chart', (charts) => charts.map((c) => Number((c as HTMLElement).dataset.points)));
    const [loss0, lr0, acc0, speed0] = await points();
    assert.ok(loss0 > 0 && lr0 > 0 && speed0 > 0, 'the earlier run is in the charts');
    await page.fill('#train-steps', '30');
    await page.click('#train-start');
    await page.waitForFunction(() => document.getElementById('train-status')!.textContent!.startsWith('Done'), null, { timeout: 240_000 });
    await page.waitForFunction((before) => {
      const n = [...document.querySelectorAll<HTMLElement>('.chart')].map((c) => Number(c.dataset.points));
      return n[0] > before[0] && n[1] > before[1] && n[2] >= before[2] + 3 && n[3] > before[3];
    }, [loss0, lr0, acc0, speed0], { timeout: 120_000 });
    await page.waitForSelector('tr[data-name="model.ckpt-230"]', { timeout: 60_000 });
    const accuracyText = await page.textContent('tr[data-name="model.ckpt-230"] td.acc');
    assert.match(accuracyText ?? '', /\d+\.\d\d%/);
  });

  test('the mistakes browser shows test images the model gets wrong', SLOW, async () => {
    await page.waitForFunction(() => document.querySelectorAll('.mistake').length > 0, null, { timeout: 60_000 });
    const cells = await page.$$eval('.mistake', (els) => els.map((e) => [(e as HTMLElement).dataset.label, (e as HTMLElement).dataset.prediction]));
    assert.ok(cells.length > 5);
    for (const [label, prediction] of cells) assert.notEqual(label, prediction);
    assert.match((await page.textContent('#mistakes-summary')) ?? '', /of 3,000 test images wrong/);
  });

  test('screenshot of the whole page', SLOW, async (t) => {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(statSync(SCREENSHOT).size > 20_000);
    t.diagnostic(`screenshot: ${SCREENSHOT}`);
  });

  test('everything came from our server, and the page threw no errors', () => {
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
  });
});
