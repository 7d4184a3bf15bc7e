// status-stale.mjs reads what otelmon's status page says of its silences
// when they are an Alertmanager cluster's that does not answer: a listsync
// demo started with "-alertmanager" pointing where nothing listens.
// examples/listsync's TestStatusPageSilencesStale runs it; it can also be
// run by hand:
//
//	STATUS_PAGE_URL=http://127.0.0.1:7878/ STATUS_PAGE_API_KEY=... node status-stale.mjs
//
// It waits for the Silences section's note to say the list is stale, and
// prints the note with the headers of the GET /silences answer the page
// drew it from, for the test to compare.
//
// Environment: STATUS_PAGE_URL and STATUS_PAGE_API_KEY (required),
// STATUS_PAGE_CHROMIUM (default /usr/bin/chromium), STATUS_PAGE_SCREENSHOT
// (optional). It prints a JSON summary on stdout and exits 0, or prints
// what failed on stderr and exits 1.

import { check, env, run } from "./lib.mjs";

async function drive(page) {
  const problems = [];
  page.on("pageerror", (err) => problems.push("page error: " + err.message));
  await page.goto(env.url);
  await page.getByLabel("API key").fill(env.key);
  let headers = null;
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.endsWith("/api/v3/monitoring/silences") && r.request().method() === "GET") headers = r.headers();
  });
  await page.getByRole("button", { name: "Show status" }).click();
  const note = page.locator("#silences-source");
  await note.waitFor({ state: "visible" });
  await page.waitForFunction(() => /^Stale: /.test(document.getElementById("silences-source").textContent));
  const text = await note.textContent();
  const caution = await note.evaluate((el) => el.classList.contains("caution"));
  check(headers !== null, "the page never read GET /silences");
  if (env.screenshot) await page.screenshot({ path: env.screenshot, fullPage: true });
  return {
    summary: {
      text, caution,
      source: headers["x-silences-source"] || "",
      staleSince: headers["x-silences-stale-since"] || "",
      fetchedAt: headers["x-silences-fetched-at"] || "",
    },
    problems,
  };
}

check(env.url && env.key, "STATUS_PAGE_URL and STATUS_PAGE_API_KEY are required");
await run("status stale check", drive);
