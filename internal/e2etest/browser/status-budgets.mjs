// status-budgets.mjs reads what otelmon's status page shows of the error
// budgets, against a listsync demo started with "-flaky imdb" whose imdb
// budget the API already reports below zero. examples/listsync's
// TestStatusPageBudgets runs it; it can also be run by hand:
//
//	STATUS_PAGE_URL=http://127.0.0.1:7878/ STATUS_PAGE_API_KEY=... node status-budgets.mjs
//
// The page's clock is paused once it is open: its 5 s refresh never
// comes, so what it shows was drawn from the one status and history
// answers it read, which the script captures and prints with what it
// read off the page, for the test to compare. It checks that:
//
//   - the "Error budgets" section has a row per objective series of the
//     status answer, imdb's overspent (a negative share left, and how many
//     times the budget went) and its burn rates marked above the page's
//     factor;
//   - the History section draws a chart of imdb's budget with a point per
//     bucket the history answer has a value for, the last below zero, and
//     the 0 line.
//
// Environment:
//
//	STATUS_PAGE_URL         the page's URL (required)
//	STATUS_PAGE_API_KEY     the demo's API key (required)
//	STATUS_PAGE_CHROMIUM    the browser to drive (default /usr/bin/chromium)
//	STATUS_PAGE_SCREENSHOT  where to save a screenshot of the page (optional)
//
// It prints a JSON summary on stdout and exits 0, or prints what failed on
// stderr and exits 1.

import { check, env, run } from "./lib.mjs";

const WAIT_MS = 15_000;
const TOTAL_MS = 60_000;

const url = env.url;
const key = env.key;
const screenshot = env.screenshot;

async function drive(page) {
  const problems = [];
  page.on("pageerror", (err) => problems.push("page error: " + err.message));
  page.on("console", (msg) => { if (msg.type() === "error") problems.push("console error: " + msg.text()); });
  // Paused before the key is entered: the page's refresh timer never
  // fires, and the first load is the only one.
  await page.clock.install();
  await page.goto(url);
  await page.clock.pauseAt(new Date(Date.now() + 1000));
  let statusReads = 0;
  page.on("request", (r) => { if (new URL(r.url()).pathname.endsWith("/api/v3/monitoring/status")) statusReads++; });
  const statusAnswer = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith("/api/v3/monitoring/status"));
  const historyAnswer = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith("/api/v3/monitoring/history"));
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Show status" }).click();
  await page.locator("#dashboard").waitFor({ state: "visible" });
  const status = await (await statusAnswer).json();
  const history = await (await historyAnswer).json();

  // The section: a row per objective series.
  const imdb = page.locator('#slos tr[data-slo="sync_success"][data-series="imdb"]');
  await imdb.waitFor();
  const rows = await page.locator("#slos tr[data-slo]").evaluateAll((trs) => trs.map((tr) => {
    const cell = (i) => tr.cells[i];
    const lead = (i) => { const v = cell(i).firstElementChild; return v && v.firstChild ? v.firstChild.textContent.trim() : ""; };
    return {
      slo: tr.getAttribute("data-slo"),
      series: tr.getAttribute("data-series"),
      objective: cell(0).textContent.trim(),
      budget: cell(2).querySelector(".budget-left").textContent.trim(),
      overspent: (cell(2).querySelector(".note") || { textContent: "" }).textContent.trim(),
      bar: cell(2).querySelector(".budget i").style.width,
      burns: [...cell(3).querySelectorAll(".burn")].map((b) => ({ window: b.getAttribute("data-window"), text: b.textContent.trim(), above: b.getAttribute("data-above") })),
      feeds: [...cell(3).querySelectorAll(".note")].map((n) => n.textContent.trim()),
      errors: cell(4).textContent.trim(),
      covered: lead(5),
    };
  }));
  const shown = rows.find((r) => r.series === "imdb" && r.slo === "sync_success");
  check(shown && /^−\d+\u00a0% left$/.test(shown.budget), `imdb's budget reads ${JSON.stringify(shown && shown.budget)}, want below zero`);
  check(/^overspent: \d+(\.\d+)?× the budget used$/.test(shown.overspent), `imdb's overspending reads ${JSON.stringify(shown.overspent)}`);
  check(shown.burns.some((b) => b.above === "page"), `none of imdb's burn rates is marked above the page's factor: ${JSON.stringify(shown.burns)}`);
  check(shown.feeds.some((f) => f.startsWith("slo_burn_rate_page: ")), `imdb's row does not say it feeds slo_burn_rate_page: ${JSON.stringify(shown.feeds)}`);
  const empty = await page.locator("#slos").innerText();
  check(!/no objectives/.test(empty), "the section says there are no objectives");

  // The chart: a point per bucket with a reading, the last below zero.
  const chart = page.locator('#slo-charts [data-slo="sync_success"][data-series="imdb"]');
  await chart.locator("circle.budget-pt").first().waitFor();
  const points = await chart.locator("circle.budget-pt title").allTextContents();
  const zero = await chart.locator("line.zero").count();
  check(zero === 1, `imdb's budget chart has ${zero} zero lines`);

  check(statusReads === 1, `the page read the status ${statusReads} times while paused`);
  check(problems.length === 0, problems.join("\n"));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  return { rows, chart: { points }, status: { slos: status.slos }, history: { slos: history.slos } };
}

check(url && key, "STATUS_PAGE_URL and STATUS_PAGE_API_KEY are required");
await run("status budgets check", drive, { totalMs: TOTAL_MS, waitMs: WAIT_MS, viewport: { width: 1280, height: 900 } });
