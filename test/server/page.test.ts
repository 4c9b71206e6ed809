// End to end: the search page in Debian's headless chromium (playwright-core), against a real server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { createServer } from '../../src/server/app.ts';
import type { Encoder } from '../../src/encoders/encoder.ts';
import { tempDir } from '../helpers/synthetic.ts';
import { tinyEncoder } from '../collection/helpers.ts';
import { longTexts, makeCollection } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../.cache/test-artifacts/', import.meta.url));
const hasChromium = existsSync(CHROMIUM);
const tmp = tempDir('server-page');
let base: Encoder;
let app: FastifyInstance;
let url: string;
let browser: Browser | undefined;

before(async () => {
  if (!hasChromium) return;
  base = await tinyEncoder(tmp.dir);
  const dir = await makeCollection(tmp.dir, 'scifact-sample', base);
  app = await createServer({ collections: { 'scifact-sample': dir }, encoders: [base] });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await app?.close();
  await base?.close();
  tmp.cleanup();
});

interface ApiHit {
  id: string;
  score: number;
  text: string;
  chunk?: { start: number; end: number };
}

test('type a query, get the results with scores and the matching chunk highlighted', { skip: hasChromium ? false : `${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium)` }, async () => {
  const query = longTexts().get('long-2')!.slice(0, 160);
  const api = await fetch(`${url}/collections/scifact-sample/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, k: 5 }),
  });
  const expected = ((await api.json()) as { hits: ApiHit[] }).hits;
  assert.equal(expected.length, 5);

  const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#collection option[value="scifact-sample"]', { state: 'attached' });
  await page.fill('#k', '5');
  await page.fill('#query', query);
  await page.click('#search');
  await page.waitForFunction("document.querySelectorAll('#results li.hit').length === 5");

  const shown = await page.$$eval('#results li.hit', (items) => items.map((li) => ({
    id: li.getAttribute('data-id') ?? '',
    score: Number(li.getAttribute('data-score')),
    scoreText: li.querySelector('.score')?.textContent ?? '',
    mark: li.querySelector('.doc mark')?.textContent ?? '',
    doc: li.querySelector('.doc')?.textContent ?? '',
  })));
  assert.deepEqual(shown.map((s) => s.id), expected.map((h) => h.id));
  shown.forEach((s, i) => {
    assert.ok(Math.abs(s.score - expected[i].score) < 1e-6);
    assert.equal(s.scoreText, expected[i].score.toFixed(4));
    assert.equal(s.mark, expected[i].text, `result ${i + 1} highlights its matching text`);
  });
  const chunked = shown.find((s, i) => s.id === 'long-2' && expected[i].chunk !== undefined);
  assert.ok(chunked, 'the queried chunked document is among the results');
  assert.ok(chunked.doc.length > chunked.mark.length, 'the chunk is shown inside its document');
  assert.match(await page.textContent('#summary') ?? '', /5 results/);

  // A bad filter is reported on the page, not thrown.
  await page.fill('#filter', '{"year": ');
  await page.click('#search');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error') ?? '', /not valid JSON/);
  await page.fill('#filter', '{"even": true}');
  await page.click('#search');
  // Only documents with even: true (the short ones with an even index) are left.
  await page.waitForFunction("document.querySelector('#error').hidden && [...document.querySelectorAll('#results li.hit')].every((li) => /^s\\d*[02468]$/.test(li.dataset.id))");
  assert.equal(await page.$$eval('#results li.hit', (items) => items.length), 5);
  await page.fill('#filter', '');
  await page.click('#search');
  await page.waitForFunction("document.querySelectorAll('#results li.hit').length === 5");

  mkdirSync(ARTIFACTS, { recursive: true });
  const screenshot = `${ARTIFACTS}search-page.png`;
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(statSync(screenshot).size > 10_000);
  assert.deepEqual(errors, []);
  await page.close();
});
