// status-history.mjs checks what otelmon's status page shows of an outage
// that is over, against a listsync demo started with "-fail imdb -fail-for
// 3s" and looked at once imdb has healed. examples/listsync's
// TestOutageOnStatusPage runs it; it can also be run by hand:
//
//	STATUS_PAGE_URL=http://127.0.0.1:7878/ STATUS_PAGE_API_KEY=... node status-history.mjs
//
// It checks that:
//
//   - imdb's alerts are listed among those resolved in the last 24 hours,
//     with how long they were active;
//   - imdb's health strip has a bucket "down" and its breaker strip a
//     bucket "open" (the worst state of the bucket), although imdb is up
//     and its breaker closed now and no look at the page came during the
//     outage;
//   - the charts of a process a few minutes old span its data: each bucket
//     is at least a third of the chart wide, not a sliver at its right edge.
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
  await page.goto(url);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Show status" }).click();
  await page.locator("#dashboard").waitFor({ state: "visible" });

  // Resolved alerts: imdb's, each with how long it was active.
  const resolved = page.locator("#resolved tr[data-resolved]").filter({ hasText: "imdb" });
  await resolved.first().waitFor();
  const rows = await resolved.evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.textContent.trim())));
  for (const cells of rows) {
    check(cells[0] !== "" && /^from .+ for \d+ (s|min)/.test(cells[2]), `resolved alert shown as ${JSON.stringify(cells)}`);
  }
  const rules = await resolved.locator(".rule code").allInnerTexts();
  check(rules.includes("service_down"), `imdb's service_down is not among the resolved alerts: ${JSON.stringify(rules)}`);

  // The strips: the outage is in them, and imdb is up and closed now.
  const chart = page.locator('#service-charts [data-service-chart="imdb"]');
  await chart.locator("rect.state-up").first().waitFor();
  const strip = async (cls) => chart.locator(`rect.${cls} title`).allTextContents();
  const health = await strip("state-up"), breaker = await strip("state-breaker");
  check(health.some((t) => / health down$/.test(t)), `imdb's health strip shows no down bucket: ${JSON.stringify(health)}`);
  check(breaker.some((t) => / breaker open$/.test(t)), `imdb's breaker strip shows no open bucket: ${JSON.stringify(breaker)}`);
  await page.locator('#services tr[data-service="imdb"] td').nth(1).filter({ hasText: /^up$/ }).waitFor();

  // The charts span the young process's data.
  const widths = await page.locator('#source-charts [data-source="imdb"] svg').evaluate((svg) => {
    const bars = [...svg.querySelectorAll("rect.sync-ok, rect.sync-failed")].map((r) => r.getBBox().width);
    return { chart: svg.getBoundingClientRect().width, bar: Math.max(...bars) };
  });
  check(widths.bar >= (widths.chart - 60) / 3 - 2, `a bucket is ${widths.bar.toFixed(1)} px of a ${widths.chart} px chart: the data of a young process is squeezed`);

  check(problems.length === 0, problems.join("\n"));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  return { resolved: rows.length, rules, health: health.length, breaker: breaker.length, widths };
}

check(url && key, "STATUS_PAGE_URL and STATUS_PAGE_API_KEY are required");
await run("status history check", drive, { totalMs: TOTAL_MS, waitMs: WAIT_MS, viewport: { width: 1280, height: 900 } });
