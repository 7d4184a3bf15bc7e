// prefixed-page.mjs drives otelmon's status page mounted under a prefix of
// a host's mux (examples/embed serves it under /monitoring/), in headless
// Chromium, as a person would: it opens the bare prefix, enters the API
// key, sees the status and acknowledges an alert. It checks that every
// request the page makes stays under the prefix. examples/embed's
// browser_test.go runs it.
//
// Environment:
//
//	STATUS_PAGE_URL         the prefix without its trailing slash, e.g. http://127.0.0.1:8080/monitoring (required)
//	STATUS_PAGE_API_KEY     the API key (required)
//	STATUS_PAGE_ALERT       text of the title of an alert the page must show and acknowledge (required)
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
const alertText = process.env.STATUS_PAGE_ALERT;
const screenshot = env.screenshot;


async function drive(page) {
  const prefix = new URL(url).pathname.replace(/\/$/, "") + "/";
  const problems = [];
  page.on("pageerror", (err) => problems.push("page error: " + err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/status of 401/.test(msg.text())) problems.push("console error: " + msg.text());
  });
  const requests = []; // every request the page makes: method and path
  page.on("request", (req) => requests.push({ method: req.method(), path: new URL(req.url()).pathname }));

  // The bare prefix leads to the page, which asks for the key.
  await page.goto(url);
  check(new URL(page.url()).pathname === prefix, `opening ${url} ended at ${page.url()}, want ${prefix}`);
  await page.locator("#login").waitFor({ state: "visible" });
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Show status" }).click();
  await page.locator("#dashboard").waitFor({ state: "visible" });

  // The status loads: the alert shows, and no error does.
  const row = page.locator("#alerts tr[data-alert-row]").filter({ hasText: alertText });
  await row.first().waitFor();
  const shown = await page.locator("#alerts tr[data-alert-row] strong").allInnerTexts();
  const services = await page.locator("#services tr[data-service]").evaluateAll((rs) => rs.map((r) => r.getAttribute("data-service")));
  check(services.length > 0, "the page shows no service");
  const error = (await page.locator("#error").innerText()).trim();
  check(error === "", `the page shows an error: ${error}`);

  // Acknowledging posts under the prefix too.
  const id = await row.first().getAttribute("data-alert-row");
  const acked = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/alerts/${id}/acknowledge`));
  await page.locator(`#alerts button[data-alert="${id}"]`).click();
  const resp = await acked;
  check(resp.status() === 200, `acknowledge answered ${resp.status()}`);
  check(new URL(resp.url()).pathname.startsWith(prefix + "api/v3/monitoring/"), `acknowledged at ${resp.url()}, outside ${prefix}`);
  await page.locator(`#alerts button[data-alert="${id}"]`).filter({ hasText: /^acknowledged$/ }).waitFor();

  // The first request is the bare prefix, which redirects to the page.
  const outside = requests.filter((r) => !r.path.startsWith(prefix) && r.path !== prefix.slice(0, -1));
  check(outside.length === 0, `requests outside ${prefix}: ${JSON.stringify(outside)}`);
  check(problems.length === 0, problems.join("\n"));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  return { page: new URL(page.url()).pathname, alerts: shown, acknowledged: id, services, requests };
}

check(url && key && alertText, "STATUS_PAGE_URL, STATUS_PAGE_API_KEY and STATUS_PAGE_ALERT are required");
await run("prefixed page check", drive, { totalMs: TOTAL_MS, waitMs: WAIT_MS });
