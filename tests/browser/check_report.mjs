#!/usr/bin/env node
// Checks a gavel HTML report in a real headless browser (Debian's Chromium through playwright-core).
//
//   node check_report.mjs REPORT.html EXPECT.json [SCREENSHOT.png]
//
// CHROMIUM overrides the browser binary (default /usr/bin/chromium). Exit status 0 with a one-line
// JSON summary on stdout when every check passes; 1 with "check_report: FAIL: ..." on stderr otherwise.
//
// EXPECT.json (fields marked optional may be left out):
//   {
//     "rows": 5,                  // rows in the report: the "Rows" count and the table total
//     "passing": 1,               // rows whose response/overall_assessment/rating is "yes"
//     "failing": 4,               // rating "no"; also what the "Failing only" filter must show
//     "errors": 0,                // rows with error_message, agent/error_message or any judge
//                                 //   .../error_message (or a non-null per-chunk .../error_messages)
//     "root_causes": {"no_pii": 4},   // optional: the root-cause filter must offer exactly these
//                                     //   values, and each must show that many rows
//     "judges": {"no_pii": 4},        // optional: judge column label -> rows the "judge said no or
//                                     //   failed" filter shows (labels drop the response/llm_judged/
//                                     //   or retrieval/llm_judged/ prefix, e.g. guideline_adherence/english)
//     "judge_columns": ["safety"],    // optional: the judge columns, exactly and in this order
//     "search": {"text": "MLflow", "rows": 1},   // optional, or a list of such objects: typing
//                                     //   text in the search box shows that many rows
//     "detail": {"request_id": "mlflow", "contains": ["What is MLflow?"]},
//                                     // optional, or a list: clicking that row opens the detail
//                                     //   view, which must show the row's request, response,
//                                     //   overall rationale and every judge's rationale and error
//                                     //   (read from the data embedded in REPORT.html) and each
//                                     //   "contains" string
//     "max_long_task_ms": 200,        // optional: fail when a main-thread task during load or
//                                     //   filtering took longer than this (Long Tasks API)
//     "alignment": {"kappa": {"correctness": "0.417"}, "open": "q4"}
//                                     // optional: the "Agreement with human labels" section shows
//                                     //   one row per judge of the embedded alignment.json, with
//                                     //   each listed kappa as the table prints it; clicking "open"
//                                     //   among the disagreements opens that request's detail view.
//                                     //   Without it, a report with no alignment data must not
//                                     //   show the section.
//   }
//
// Always checked as well:
//   - the Content-Security-Policy names the page's script by its current SHA-256 (else the
//     browser would not run it; the failure message gives the hash to put in);
//   - no console errors, no page errors, no request other than REPORT.html itself;
//   - every key of the embedded metrics.json is in the metrics table, and each
//     .../rating/percentage and .../precision/average has a bar; each .../score/mean (a 1-5
//     score judge) has the mean, variance and p90 under its judge's bar;
//   - no markup from the data became elements (no img, iframe, object, embed or extra script;
//     window.__gavel_xss unset);
//   - the detail view opens from the keyboard (Enter on the request id) and closes with Escape,
//     focus going back to the row, and with its close button.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT_MS = 30_000;

class CheckFailure extends Error {}

function fail(message) { throw new CheckFailure(message); }

function expectEqual(actual, expected, what) {
  if (actual !== expected) fail(`${what}: expected ${JSON.stringify(expected)}, the page shows ${JSON.stringify(actual)}`);
}

function asList(value) { return value == null ? [] : Array.isArray(value) ? value : [value]; }

function normalize(text) { return String(text).replace(/\s+/g, ' ').trim(); }

function readExpect(path) {
  const expect = JSON.parse(readFileSync(path, 'utf8'));
  for (const field of ['rows', 'passing', 'failing', 'errors']) {
    if (!Number.isInteger(expect[field])) fail(`${path}: "${field}" must be an integer`);
  }
  return expect;
}

// The same document the page parses, read straight from the file, so the detail view can be
// compared with the row it claims to show.
function readEmbeddedData(html) {
  const match = /<script id="gavel-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  if (!match) fail('the report has no <script id="gavel-data" type="application/json"> element');
  try {
    return JSON.parse(match[1]);
  } catch (error) {
    fail(`the embedded report data is not JSON: ${error.message}`);
  }
}

// The page's Content-Security-Policy runs only scripts named by their SHA-256, which gavel
// computes when it writes the page (host/src/results/report/page.rs). A page whose script and
// hash disagree would not run in a browser; say so plainly.
function checkScriptHashes(html) {
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html);
  if (!csp) fail('the report has no Content-Security-Policy <meta>');
  const allowed = new Set(csp[1].match(/'sha256-[A-Za-z0-9+/=]+'/g) || []);
  const scripts = [...html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/g)]
    .filter((m) => !/type="application\/json"/.test(m[1] || ''));
  for (const [, , body] of scripts) {
    const hash = `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
    if (!allowed.has(hash)) {
      fail(`the page's script is not allowed by its Content-Security-Policy, so the browser would not run it: ` +
        `its hash is ${hash}, the CSP <meta> lists ${[...allowed].join(' ') || 'no hash'} (check how page.rs computes it)`);
    }
  }
}

/* ---------- text a detail view must contain, from the row itself ---------- */

function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (typeof p === 'string' ? p : p && typeof p.text === 'string' ? p.text : ''))
      .filter(Boolean).join('\n');
  }
  return content == null ? '' : JSON.stringify(content);
}

function requestTexts(request) {
  if (typeof request === 'string') return [request];
  if (request && Array.isArray(request.messages)) return request.messages.map((m) => contentText(m && m.content)).filter(Boolean);
  return [];
}

function responseTexts(response) {
  if (typeof response === 'string') return [response];
  if (Array.isArray(response)) return response.filter((p) => typeof p === 'string');
  if (response && typeof response === 'object') {
    const choice = Array.isArray(response.choices) ? response.choices[0] : null;
    if (choice && choice.message) return [contentText(choice.message.content)];
    if ('content' in response) return [contentText(response.content)];
  }
  return [];
}

function mustShow(row) {
  const wanted = [];
  for (const text of requestTexts(row.request)) wanted.push(['request', text]);
  for (const text of responseTexts(row.response)) wanted.push(['response', text]);
  for (const [key, value] of Object.entries(row)) {
    if (/\/(rationale|error_message)$/.test(key) && value != null) wanted.push([key, String(value)]);
    if (/\/(rationales|error_messages)$/.test(key) && Array.isArray(value)) {
      value.forEach((v, i) => { if (v != null) wanted.push([`${key}[${i}]`, String(v)]); });
    }
  }
  if (row.error_message != null) wanted.push(['error_message', String(row.error_message)]);
  return wanted.filter(([, text]) => normalize(text) !== '');
}

/* ---------- page helpers: everything is found by data-testid ---------- */

const byTestId = (id) => `[data-testid="${id}"]`;

async function countValue(page, id) {
  const value = await page.getAttribute(byTestId(id), 'data-value');
  if (value == null) fail(`${byTestId(id)} has no data-value: the page did not fill it in`);
  return Number(value);
}

async function settle(page) {
  await page.waitForFunction(() => !document.documentElement.hasAttribute('data-pending'), null, { timeout: TIMEOUT_MS });
}

async function shownState(page) {
  return page.evaluate(() => ({
    shown: Number(document.querySelector('[data-testid="shown-count"]').getAttribute('data-value')),
    visible: document.querySelectorAll('[data-testid="result-row"]').length,
    pageSize: Number(document.querySelector('[data-testid="results-body"]').getAttribute('data-page-size')),
    overall: Array.from(document.querySelectorAll('[data-testid="result-row"]'), (tr) => tr.getAttribute('data-overall'))
  }));
}

// The count the page reports must match, and the table must hold exactly one page of those rows.
async function expectShown(page, expected, what) {
  await settle(page);
  const state = await shownState(page);
  expectEqual(state.shown, expected, `${what}: rows shown`);
  expectEqual(state.visible, Math.min(expected, state.pageSize), `${what}: table rows on the first page`);
  return state;
}

async function clearFilters(page) {
  await page.click(byTestId('filter-clear'));
  await settle(page);
}

async function checkCounts(page, expect) {
  for (const [field, id] of [['rows', 'count-rows'], ['passing', 'count-passing'], ['failing', 'count-failing'], ['errors', 'count-errors']]) {
    expectEqual(await countValue(page, id), expect[field], `count "${field}"`);
  }
  await expectShown(page, expect.rows, 'unfiltered table');
}

// Every key of metrics.json is listed, and every pass rate or precision has its bar.
async function checkMetrics(page, data) {
  const metrics = data.metrics || {};
  const listed = await page.$$eval(byTestId('metric-row'), (rows) => rows.map((r) => r.getAttribute('data-metric')));
  expectEqual(JSON.stringify(listed), JSON.stringify(Object.keys(metrics)), 'keys of the metrics table');
  const bars = await page.$$eval(byTestId('judge-metric'), (nodes) => nodes.map((n) => n.getAttribute('data-metric')));
  const wanted = Object.keys(metrics).filter((k) => /\/rating\/percentage$|\/precision\/average$/.test(k));
  const missing = wanted.filter((k) => !bars.includes(k));
  if (missing.length) fail(`metrics without a bar: ${JSON.stringify(missing)}`);
  // A 1-5 score judge shows its .../score/mean, /variance and /p90 under its bar.
  const scored = Object.keys(metrics).filter((k) => /\/score\/mean$/.test(k)).map((k) => k.replace(/\/mean$/, ''));
  const shown = await page.$$eval(byTestId('judge-score'), (nodes) => nodes.map((n) => ({
    column: n.getAttribute('data-metric'),
    text: n.textContent,
    stats: Object.fromEntries([...n.querySelectorAll('[data-stat]')].map((s) => [s.getAttribute('data-stat'), s.getAttribute('data-value')])),
  })));
  expectEqual(JSON.stringify(shown.map((s) => s.column)), JSON.stringify(scored), 'judges with score statistics under their bar');
  for (const { column, text, stats } of shown) {
    for (const stat of ['mean', 'variance', 'p90']) {
      const value = metrics[`${column}/${stat}`];
      expectEqual(stats[stat], value == null ? '' : String(value), `${column}/${stat} under the bar`);
      if (value != null && !text.includes(`${stat} ${value.toFixed(2)}`)) fail(`"${text}" does not show ${stat} ${value.toFixed(2)}`);
    }
  }
}

async function checkFailingOnly(page, expect) {
  await page.check(byTestId('filter-failing'));
  const state = await expectShown(page, expect.failing, '"Failing only"');
  const wrong = state.overall.filter((o) => o !== 'no');
  if (wrong.length) fail(`"Failing only" shows rows whose overall rating is not "no": ${JSON.stringify(wrong)}`);
  // The last page must hold the remainder: paging covers exactly the failing rows.
  if (expect.failing > state.pageSize) {
    await page.click(byTestId('page-last'));
    const last = await shownState(page);
    expectEqual(last.visible, expect.failing - Math.floor((expect.failing - 1) / state.pageSize) * state.pageSize,
      '"Failing only": table rows on the last page');
  }
  await clearFilters(page);
}

async function checkRootCauses(page, expect) {
  if (!expect.root_causes) return;
  const offered = await page.$$eval(`${byTestId('filter-root-cause')} option`, (options) => options.map((o) => o.value).filter(Boolean));
  const wanted = Object.keys(expect.root_causes);
  expectEqual(JSON.stringify([...offered].sort()), JSON.stringify([...wanted].sort()), 'root causes offered by the filter');
  for (const [cause, rows] of Object.entries(expect.root_causes)) {
    await page.selectOption(byTestId('filter-root-cause'), { value: cause });
    await expectShown(page, rows, `root cause "${cause}"`);
  }
  await clearFilters(page);
}

async function checkJudgeColumns(page, expect) {
  if (!expect.judge_columns) return;
  const columns = await page.$$eval(byTestId('judge-column'), (ths) => ths.map((th) => th.getAttribute('data-judge')));
  expectEqual(JSON.stringify(columns), JSON.stringify(expect.judge_columns), 'judge columns');
}

async function checkJudgeFilter(page, expect) {
  if (!expect.judges) return;
  for (const [label, rows] of Object.entries(expect.judges)) {
    const value = await page.$$eval(`${byTestId('filter-judge')} option`,
      (options, wanted) => { const o = options.find((x) => x.getAttribute('data-judge') === wanted); return o ? o.value : null; }, label);
    if (value == null) fail(`the judge filter offers no judge "${label}"`);
    await page.selectOption(byTestId('filter-judge'), { value });
    await expectShown(page, rows, `judge "${label}" said no or failed`);
  }
  await clearFilters(page);
}

async function checkSearch(page, expect) {
  for (const search of asList(expect.search)) {
    await page.fill(byTestId('filter-search'), search.text);
    await expectShown(page, search.rows, `search ${JSON.stringify(search.text)}`);
  }
  await clearFilters(page);
}

async function openRowByClick(page, requestId) {
  // Narrow the table to the row first, so it is on the first page however big the run is.
  await page.fill(byTestId('filter-search'), requestId);
  await settle(page);
  const row = page.locator(`${byTestId('result-row')}[data-request-id="${CSS_escape(requestId)}"]`).first();
  if (await row.count() === 0) fail(`no table row has request_id ${JSON.stringify(requestId)}`);
  // Click a cell other than the id button: the whole row opens the detail view.
  await row.locator('td').nth(1).click();
  await page.waitForSelector(`${byTestId('detail')}[open]`, { timeout: TIMEOUT_MS });
  expectEqual(await page.getAttribute(byTestId('detail'), 'data-request-id'), requestId, 'request shown in the detail view');
}

function CSS_escape(value) { return String(value).replace(/["\\]/g, '\\$&'); }

async function checkDetail(page, expect, data) {
  const checked = [];
  for (const detail of asList(expect.detail)) {
    const requestId = String(detail.request_id);
    const row = (data.rows || []).find((r) => String(r.request_id) === requestId);
    if (!row) fail(`EXPECT detail: the report data has no row with request_id ${JSON.stringify(requestId)}`);
    await openRowByClick(page, requestId);
    const text = normalize(await page.textContent(byTestId('detail-body')));
    const wanted = mustShow(row).concat((detail.contains || []).map((t) => ['EXPECT contains', t]));
    for (const [what, value] of wanted) {
      if (!text.includes(normalize(value))) fail(`detail view of ${JSON.stringify(requestId)} does not show ${what}: ${JSON.stringify(value.slice(0, 200))}`);
    }
    const requestShown = normalize(await page.textContent(byTestId('detail-request')));
    for (const part of requestTexts(row.request)) {
      if (!requestShown.includes(normalize(part))) fail(`detail view of ${JSON.stringify(requestId)}: the Request section lacks ${JSON.stringify(part)}`);
    }
    await page.click(byTestId('detail-close'));
    await page.waitForSelector(`${byTestId('detail')}:not([open])`, { state: 'attached', timeout: TIMEOUT_MS });
    checked.push({ request_id: requestId, strings: wanted.length });
    await clearFilters(page);
  }
  return checked;
}

async function checkKeyboard(page, expect) {
  if (expect.rows === 0) return;
  const button = page.locator(`${byTestId('result-row')} ${byTestId('row-open')}`).first();
  await button.focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${byTestId('detail')}[open]`, { timeout: TIMEOUT_MS });
  await page.keyboard.press('Escape');
  await page.waitForSelector(`${byTestId('detail')}:not([open])`, { state: 'attached', timeout: TIMEOUT_MS });
  const back = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-testid'));
  expectEqual(back, 'row-open', 'focus after closing the detail view with Escape');
}

async function checkAlignment(page, expect, data) {
  const section = page.locator(byTestId('alignment'));
  if (!expect.alignment) {
    if (!data.alignment && await section.isVisible()) fail('the alignment section shows, but the report has no alignment data');
    return;
  }
  if (!await section.isVisible()) fail('the "Agreement with human labels" section is not shown');
  const rows = await page.$$eval(byTestId('alignment-row'), (trs) => trs.map((tr) => [
    tr.getAttribute('data-judge'), tr.querySelector('[data-stat="kappa"]').textContent]));
  const judges = ((data.alignment || {}).judges || []).map((j) => String(j.judge));
  expectEqual(JSON.stringify(rows.map((r) => r[0])), JSON.stringify(judges), 'judges in the alignment table');
  for (const [judge, kappa] of Object.entries(expect.alignment.kappa || {})) {
    const row = rows.find((r) => r[0] === judge);
    if (!row) fail(`the alignment table has no row for ${JSON.stringify(judge)}`);
    expectEqual(row[1], kappa, `kappa of ${judge} in the alignment table`);
  }
  if (expect.alignment.open != null) {
    const requestId = String(expect.alignment.open);
    await page.evaluate(() => document.querySelectorAll('[data-testid="alignment-judge"]').forEach((d) => { d.open = true; }));
    const link = section.getByRole('button', { name: requestId, exact: true }).first();
    if (await link.count() === 0) fail(`no disagreement links to request ${JSON.stringify(requestId)}`);
    await link.click();
    await page.waitForSelector(`${byTestId('detail')}[open]`, { timeout: TIMEOUT_MS });
    expectEqual(await page.getAttribute(byTestId('detail'), 'data-request-id'), requestId, 'request opened from the alignment section');
    await page.click(byTestId('detail-close'));
    await page.waitForSelector(`${byTestId('detail')}:not([open])`, { state: 'attached', timeout: TIMEOUT_MS });
  }
}

// Markup in the data must stay text: count what the page's own markup has and nothing more.
async function checkNoInjection(page) {
  const found = await page.evaluate(() => ({
    scripts: document.scripts.length,
    embedded: document.querySelectorAll('img, iframe, object, embed, audio, video, frame, base, form, link[rel="stylesheet"], style:not(head style)').length,
    flag: typeof window.__gavel_xss === 'undefined' ? null : String(window.__gavel_xss)
  }));
  expectEqual(found.scripts, 2, 'script elements in the page (data must not add any)');
  expectEqual(found.embedded, 0, 'elements made from data (img, iframe, ...)');
  expectEqual(found.flag, null, 'window.__gavel_xss (set by a script that came from the data)');
}

// How long the work took in the page itself, with performance.now(). Each filter runs in a task
// of its own, as a user's click would.
async function measure(page) {
  const startup = await page.evaluate(() => {
    const entry = (name) => performance.getEntriesByName(name)[0] || null;
    const stages = ['gavel:parse', 'gavel:model', 'gavel:first-page'].map((n) => entry(n));
    return {
      ready_ms: entry('gavel:ready') ? entry('gavel:ready').startTime : null,
      script_ms: stages.every(Boolean) ? stages.reduce((sum, e) => sum + e.duration, 0) : null,
      parse_ms: stages[0] ? stages[0].duration : null,
      model_ms: stages[1] ? stages[1].duration : null,
      first_page_ms: stages[2] ? stages[2].duration : null
    };
  });
  // Time to the next frame, so the layout of the new table page is counted too.
  const timed = (action, arg) => page.evaluate(([what, value]) => new Promise((done) => {
    const t = performance.now();
    if (what === 'check') document.querySelector('[data-testid="filter-failing"]').click();
    if (what === 'search') {
      const box = document.querySelector('[data-testid="filter-search"]');
      box.value = value;
      box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    }
    if (what === 'page') document.querySelector('[data-testid="page-next"]').click();
    requestAnimationFrame(() => setTimeout(() => done(performance.now() - t), 0));
  }), [action, arg]);
  const timings = { ...startup };
  timings.filter_failing_ms = await timed('check');
  timings.next_page_ms = await timed('page');
  timings.filter_all_ms = await timed('check');
  timings.search_ms = await timed('search', 'zzzz-no-such-text');
  await timed('search', '');
  const round = (v) => (v == null ? null : Math.round(v * 10) / 10);
  return Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, round(v)]));
}

async function main() {
  const [reportArg, expectArg, screenshot] = process.argv.slice(2);
  if (!reportArg || !expectArg) {
    console.error('usage: node check_report.mjs REPORT.html EXPECT.json [SCREENSHOT.png]');
    process.exit(2);
  }
  const reportPath = resolve(reportArg);
  const expect = readExpect(expectArg);
  const html = readFileSync(reportPath, 'utf8');
  checkScriptHashes(html);
  const data = readEmbeddedData(html);
  const url = pathToFileURL(reportPath).href;

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: LAUNCH_ARGS });
  const problems = [];
  const requests = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => requests.push(request.url()));
    // Long tasks are only reported to observers, so one is installed before the page runs.
    await page.addInitScript(() => {
      window.__gavelLongTasks = [];
      try {
        new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__gavelLongTasks.push(e.duration); })
          .observe({ type: 'longtask', buffered: true });
      } catch (_) { /* no Long Tasks API: nothing to report */ }
    });

    const started = Date.now();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.documentElement.hasAttribute('data-ready') || document.documentElement.hasAttribute('data-error'), null, { timeout: TIMEOUT_MS });
    const loadWallMs = Date.now() - started;
    if (await page.evaluate(() => document.documentElement.hasAttribute('data-error'))) {
      fail(`the page could not show the report: ${await page.textContent(byTestId('fatal'))}`);
    }
    const bail = () => { if (problems.length) fail(problems.join('; ')); };
    bail();

    await checkCounts(page, expect);
    await checkMetrics(page, data);
    await checkJudgeColumns(page, expect);
    await checkFailingOnly(page, expect);
    await checkRootCauses(page, expect);
    await checkJudgeFilter(page, expect);
    await checkSearch(page, expect);
    await checkKeyboard(page, expect);
    const details = await checkDetail(page, expect, data);
    await checkAlignment(page, expect, data);
    await checkNoInjection(page);
    const timings = await measure(page);
    bail();

    const longTasks = await page.evaluate(() => window.__gavelLongTasks || []);
    const longest = longTasks.length ? Math.round(Math.max(...longTasks)) : 0;
    if (expect.max_long_task_ms != null && longest > expect.max_long_task_ms) {
      fail(`a main-thread task took ${longest} ms (limit ${expect.max_long_task_ms} ms); long tasks: ${JSON.stringify(longTasks.map(Math.round))}`);
    }

    const others = requests.filter((u) => u !== url);
    if (others.length) fail(`the page made requests other than the report itself: ${JSON.stringify(others.slice(0, 10))}`);

    if (screenshot) {
      await clearFilters(page);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: screenshot, fullPage: true });
    }
    bail();
    console.log(JSON.stringify({
      ok: true,
      report: reportArg,
      rows: expect.rows,
      passing: expect.passing,
      failing: expect.failing,
      errors: expect.errors,
      details,
      load_wall_ms: loadWallMs,
      ...timings,
      long_tasks: longTasks.length,
      longest_task_ms: longest,
      requests: requests.length,
      screenshot: screenshot || null
    }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  const message = error instanceof CheckFailure ? error.message : (error && error.stack) || String(error);
  console.error(`check_report: FAIL: ${message}`);
  process.exit(1);
});
