// status-page.mjs drives otelmon's status page in headless Chromium, as a
// person would use it, against a running listsync demo started with
// "-fail imdb". examples/listsync/browser_test.go runs it; it can also be
// run by hand:
//
//	STATUS_PAGE_URL=http://127.0.0.1:7878/ STATUS_PAGE_API_KEY=... node status-page.mjs
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

const SERVICES = ["imdb", "tmdb", "trakt", "plex"];
const WAIT_MS = 15_000; // one wait; longer than the page's 5 s refresh
const TOTAL_MS = 60_000; // the whole run
const REFRESH_MS = 5_000; // the page's refresh interval

const url = env.url;
const key = env.key;
const screenshot = env.screenshot;


// getJSON reads an API endpoint with the key.
async function getJSON(path) {
  const resp = await fetch(new URL(path, url), { headers: { "X-Api-Key": key } });
  check(resp.ok, `GET ${path} answered ${resp.status}`);
  return resp.json();
}

// checkTraces checks the trace IDs the page shows for the first alert
// that has some (they change as new failures come), and returns what it
// checked.
async function checkTraces(page) {
  const [status, alerts] = await Promise.all([getJSON("api/v3/monitoring/status"), getJSON("api/v3/monitoring/alerts")]);
  const a = alerts.find((a) => Array.isArray(a.traceIds) && a.traceIds.length > 0);
  if (!a) return { alert: "", traceIds: 0, linked: false };
  const tpl = status.traceUrlTemplate || "";
  const shown = page.locator(`#alerts tr[data-alert-row="${a.id}"] .traces ${tpl ? "a" : "code"}`);
  await shown.first().waitFor();
  const items = await shown.evaluateAll((es) => es.map((e) => ({ id: e.title, href: e.getAttribute("href") })));
  for (const { id, href } of items) {
    check(/^[0-9a-f]{32}$/.test(id), `trace ID ${JSON.stringify(id)} shown`);
    if (tpl) check(href === tpl.split("{traceId}").join(id), `trace ${id} linked to ${href}, want the template's URL`);
  }
  if (!tpl) check((await page.locator("#alerts .traces a").count()) === 0, "trace IDs are links without a trace URL template");
  return { alert: a.id, traceIds: items.length, linked: !!tpl };
}

async function drive(page) {
  const problems = []; // script errors and console errors, reported at the end
  page.on("pageerror", (err) => problems.push("page error: " + err.message));
  page.on("console", (msg) => {
    // A rejected key is answered 401 on purpose, and Chromium logs it.
    if (msg.type() !== "error" || /status of 401/.test(msg.text())) return;
    problems.push("console error: " + msg.text());
  });
  const apiCalls = []; // every API request the page makes: method, path, key
  page.on("request", (req) => {
    const u = new URL(req.url());
    if (u.pathname.startsWith("/api/")) {
      apiCalls.push({ method: req.method(), path: u.pathname, query: u.search, key: req.headers()["x-api-key"] });
    }
  });
  // A controllable clock: the 5 s refresh can then be run at once.
  await page.clock.install();

  // 1. Without a key, the page shows the key form and nothing else.
  await page.goto(url);
  const login = page.locator("#login");
  const dashboard = page.locator("#dashboard");
  await login.waitFor({ state: "visible" });
  check(await dashboard.isHidden(), "the dashboard shows before an API key was entered");
  const blank = await page.locator("body").innerText();
  for (const s of SERVICES) check(!blank.toLowerCase().includes(s), `service ${s} visible before an API key was entered`);
  check(apiCalls.length === 0, `the page called the API without a key: ${JSON.stringify(apiCalls)}`);

  // 2. A wrong key is refused and forgotten; the form comes back.
  const keyInput = page.getByLabel("API key");
  const submit = page.getByRole("button", { name: "Show status" });
  await keyInput.fill("not-the-key");
  await submit.click();
  await page.locator("#login-error").filter({ hasText: "not accepted" }).waitFor();
  await login.waitFor({ state: "visible" });
  check(await dashboard.isHidden(), "the dashboard stayed up after a wrong key");
  check((await page.evaluate(() => localStorage.getItem("otelmon.apiKey"))) === null, "a wrong key stayed in localStorage");
  check(!(await page.locator("body").innerText()).toLowerCase().includes("imdb"), "data shown for a wrong key");

  // 3. The right key shows the dashboard and is kept in localStorage.
  const before = apiCalls.length;
  await keyInput.fill(key);
  await submit.click();
  await dashboard.waitFor({ state: "visible" });
  check(await login.isHidden(), "the key form still shows after the key was accepted");
  check((await page.evaluate(() => localStorage.getItem("otelmon.apiKey"))) === key, "the key is not kept in localStorage");
  check((await keyInput.inputValue()) === "", "the key stays in the form's input");

  // 4. Services: all four, imdb down with its breaker open, the rest up.
  const services = {};
  for (const s of SERVICES) {
    const row = page.locator(`#services tr[data-service="${s}"]`);
    const [health, breaker] = s === "imdb" ? ["down", "open"] : ["up", "closed"];
    await row.locator("td").nth(1).filter({ hasText: new RegExp(`^${health}$`) }).waitFor();
    await row.locator("td").nth(2).locator(".pill").filter({ hasText: new RegExp(`^${breaker}$`) }).waitFor();
    // What the page shows, which the test compares with the API.
    services[s] = {
      health: (await row.locator("td").nth(1).innerText()).trim(),
      breaker: (await row.locator("td").nth(2).locator(".pill").innerText()).trim(),
    };
  }
  const imdbError = (await page.locator('#services tr[data-service="imdb"] td').nth(5).innerText()).trim();
  check(imdbError !== "", "imdb's last error is not shown");
  services.imdb.lastError = imdbError;
  // The open breaker says when it tries again: the API's retryAt, an hour
  // away (-breaker-open-timeout 1h).
  const retry = page.locator('#services tr[data-service="imdb"] td').nth(2).locator(".note").filter({ hasText: /^retries at .+ \(in (59 min|1 h)\)$/ });
  await retry.waitFor();
  services.imdb.retry = (await retry.innerText()).trim();
  // Pace: tmdb is paced at its published 40 requests a second, trakt reads
  // at 1000 per 5 minutes with writes at 1 a second; imdb is unpaced.
  const paceOf = (s) => page.locator(`#services tr[data-service="${s}"] td`).nth(6);
  await paceOf("tmdb").filter({ hasText: /^40\/s/ }).waitFor();
  await paceOf("trakt").filter({ hasText: /writes 1\.0\/s/ }).waitFor();
  await paceOf("imdb").filter({ hasText: /^unpaced/ }).waitFor();
  for (const s of SERVICES) {
    services[s].pace = (await paceOf(s).innerText()).trim();
    check(/429 in the last hour/.test(services[s].pace), `${s}'s pace does not say its 429s of the last hour: ${JSON.stringify(services[s].pace)}`);
    check(/pauses at most 5 min/.test(services[s].pace), `${s}'s pace does not say its longest pause (5 min by default): ${JSON.stringify(services[s].pace)}`);
  }

  // 5. Recent syncs: a row per source, imdb failing and the rest
  // succeeding, each duration with its unit.
  const syncs = {};
  for (const s of SERVICES) {
    const result = s === "imdb" ? "failure" : "success";
    const row = page.locator("#syncs tr").filter({ has: page.locator("td:first-child", { hasText: new RegExp(`^${s}$`) }) });
    await row.locator("td").nth(1).filter({ hasText: new RegExp(`^${result}$`) }).waitFor();
    const duration = (await row.locator("td").nth(3).innerText()).trim();
    check(/^\d+(\.\d+)? (ms|s)$/.test(duration) && duration !== "0.00 s", `${s}'s last duration reads ${JSON.stringify(duration)}`);
    syncs[s] = (await row.locator("td").nth(1).innerText()).trim(); // as shown
  }

  // 5b. History: a chart per source with its sync outcomes and a point per
  // bucket with syncs (the bucket in progress included), imdb's failing;
  // a chart per service with its health and breaker over time, imdb's
  // breaker open; imdb's alerts marked on the time axis.
  const history = {};
  for (const s of SERVICES) {
    const chart = page.locator(`#source-charts [data-source="${s}"]`);
    await chart.locator("circle.pt").first().waitFor();
    await chart.locator(s === "imdb" ? "rect.sync-failed" : "rect.sync-ok").first().waitFor();
    history[s] = { points: await chart.locator("circle.pt").count() }; // compared with the API's history
  }
  for (const s of SERVICES) {
    const chart = page.locator(`#service-charts [data-service-chart="${s}"]`);
    await chart.locator("rect.state-up").first().waitFor();
    await chart.locator("rect.state-breaker").first().waitFor();
  }
  await page.locator('#service-charts [data-service-chart="imdb"] rect.state-breaker title').filter({ hasText: / open$/ }).first().waitFor({ state: "attached" });
  await page.locator("#history-axis .alert-mark").first().waitFor({ state: "attached" });
  history.alertMarks = await page.locator("#history-axis path.alert-mark").count();
  // Another range redraws the charts from that range's answer.
  const ranged = page.waitForResponse((r) => r.url().includes("/api/v3/monitoring/history?range=24h"));
  await page.getByLabel("History range").selectOption("24h");
  check((await ranged).status() === 200, "the 24h history was not served");
  await page.locator('#source-charts [data-source="imdb"] circle.pt').first().waitFor();

  // Every state pill must be readable: white text needs a coloured background.
  const unreadable = await page.locator(".pill").evaluateAll((pills) =>
    pills.filter((p) => getComputedStyle(p).backgroundColor === "rgba(0, 0, 0, 0)").map((p) => p.textContent));
  check(unreadable.length === 0, `pills without a background (white on white): ${JSON.stringify([...new Set(unreadable)])}`);

  // 6. Alerts: wait for an active, unacknowledged one and acknowledge it.
  const firstAlert = page.locator("#alerts tr[data-alert-row]")
    .filter({ has: page.getByRole("button", { name: "Acknowledge", exact: true }) }).first();
  await firstAlert.waitFor();
  const alerts = await page.locator("#alerts tr[data-alert-row] strong").allInnerTexts();
  check(alerts.some((t) => t.includes("imdb")), `no imdb alert among ${JSON.stringify(alerts)}`);
  const id = await firstAlert.getAttribute("data-alert-row");
  const title = await firstAlert.locator("strong").innerText();
  const button = page.locator(`#alerts button[data-alert="${id}"]`);
  const clicked = await button.elementHandle();
  const acked = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/alerts/${id}/acknowledge`));
  await button.click();
  const ackResponse = await acked;
  check(ackResponse.status() === 200, `acknowledge answered ${ackResponse.status()}: ${await ackResponse.text()}`);
  await button.filter({ hasText: /^acknowledged$/ }).waitFor();
  // The page reloads the alerts after acknowledging: the redrawn button,
  // drawn from the server's answer, must still say so and stay disabled.
  await page.waitForFunction(([old, id]) => {
    const b = document.querySelector(`#alerts button[data-alert="${CSS.escape(id)}"]`);
    return b !== null && b !== old && b.textContent === "acknowledged" && b.disabled;
  }, [clicked, id]);

  // 6b. Silences: silence an alert from its row (a duration and a
  // comment), see the silence in the list and on the alert, then expire it
  // from the list.
  const row = page.locator(`#alerts tr[data-alert-row="${id}"]`);
  await row.getByRole("button", { name: "Silence", exact: true }).click();
  await row.getByLabel("Silence for").selectOption("1h");
  const comment = "planned imdb maintenance (status page test)";
  await row.getByLabel("Silence comment").fill(comment);
  const posted = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/alerts/${id}/silence`));
  await row.getByRole("button", { name: "Silence alert" }).click();
  const resp = await posted;
  check(resp.ok(), `silence answered ${resp.status()}: ${await resp.text()}`);
  const sent = JSON.parse(resp.request().postData() || "{}");
  check(sent.duration === "1h" && sent.comment === comment, `silence sent ${JSON.stringify(sent)}`);
  const sid = (await resp.json()).id;
  check(typeof sid === "string" && sid !== "", "the silence answer has no id");
  const listed = page.locator(`#silences tr[data-silence="${sid}"]`);
  await listed.filter({ hasText: comment }).waitFor();
  await listed.locator(".pill").filter({ hasText: /^active$/ }).waitFor();
  // The silenced alert names who silenced it and why; the silence's id
  // is the tooltip.
  const by = page.locator(`#alerts tr[data-alert-row="${id}"] .silenced-by`).filter({ hasText: "status page" }).filter({ hasText: comment });
  await by.waitFor();
  check((await by.locator(`[data-silence="${sid}"]`).getAttribute("title")) === "silence " + sid, "the silence's id is not the tooltip of who silenced the alert");
  const expired = page.waitForResponse((r) => r.request().method() === "DELETE" && r.url().endsWith(`/silences/${sid}`));
  await listed.getByRole("button", { name: "Expire" }).click();
  const del = await expired;
  check(del.ok(), `expire answered ${del.status()}`);
  await listed.locator(".pill").filter({ hasText: /^expired$/ }).waitFor();
  check((await listed.getByRole("button", { name: "Expire" }).count()) === 0, "an expired silence still offers Expire");
  const silenced = { alert: id, silence: sid };
  check((await page.locator("#silences-off").isHidden()), "the page says the server offers no silences");

  // 6c. Traces: an alert that names the traces that caused it shows them,
  // as links when the server has a trace URL template, as text otherwise.
  // (Only where the server reports trace IDs.)
  const traces = await checkTraces(page);

  // 7. The page refreshes on its own every 5 s.
  const statusCalls = () => apiCalls.filter((c) => c.path === "/api/v3/monitoring/status").length;
  const n = statusCalls();
  const refreshed = page.waitForResponse((r) => r.url().includes("/api/v3/monitoring/alerts") && r.request().method() === "GET");
  await page.clock.fastForward(REFRESH_MS);
  await refreshed;
  check(statusCalls() > n, "the page did not refresh after 5 s");
  await page.locator('#services tr[data-service="imdb"] td').nth(1).filter({ hasText: /^down$/ }).waitFor();
  await button.filter({ hasText: /^acknowledged$/ }).waitFor();

  // Every API call after login carried the key in the header, never in the URL.
  for (const c of apiCalls.slice(before)) {
    check(c.key === key, `${c.method} ${c.path} sent X-Api-Key ${JSON.stringify(c.key)}`);
    check(!c.query.includes(key), `${c.method} ${c.path} put the key in the URL`);
  }

  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // 8. A reload keeps the key; "Forget API key" drops it.
  await page.reload();
  await page.locator('#services tr[data-service="imdb"]').waitFor();
  check(await login.isHidden(), "the key form shows again after a reload");
  await page.getByRole("button", { name: "Forget API key" }).click();
  await login.waitFor({ state: "visible" });
  check(await dashboard.isHidden(), "the dashboard still shows after forgetting the key");
  check((await page.evaluate(() => localStorage.getItem("otelmon.apiKey"))) === null, "the key stays in localStorage after forgetting it");

  check(problems.length === 0, problems.join("\n"));
  return { services, syncs, history, traces, alerts, acknowledged: { id, title }, silenced, apiCalls: apiCalls.length };
}

check(url && key, "STATUS_PAGE_URL and STATUS_PAGE_API_KEY are required");
await run("status page check", drive, { totalMs: TOTAL_MS, waitMs: WAIT_MS });
