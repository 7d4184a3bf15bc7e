// status-layout.mjs checks that nothing on otelmon's status page is covered
// or clipped, at the widths of a phone, a small laptop and a desktop, with
// the page as full as a bad day makes it: faults, silences, the inline
// silence form open and long texts on screen. examples/listsync's
// TestStatusPageLayout runs it against the demo; it can also be run by hand:
//
//	STATUS_PAGE_URL=http://127.0.0.1:7878/ STATUS_PAGE_API_KEY=... STATUS_LAYOUT_SHOTS=/tmp/shots node status-layout.mjs
//
// At each width it checks that:
//
//   - the page needs no sideways scrolling (the scrolling element is no
//     wider than the window);
//   - every control (button, link, select, input), scrolled into view, is
//     the element at its own centre, lies inside the window and is not cut
//     by an ancestor that hides or scrolls its overflow;
//   - no card (section) holds content wider than itself: a wide table
//     scrolls inside a box of its own;
//   - each of STATUS_LAYOUT_TEXTS is on screen, and the cell holding it
//     wraps it: the cell is no wider than its card and nothing overflows it.
//
// It saves a full-page screenshot at each width whatever the checks find
// (status-<width>.png in STATUS_LAYOUT_SHOTS), so the same script records
// the page before and after a change.
//
// Environment:
//
//	STATUS_PAGE_URL        the page's URL (required)
//	STATUS_PAGE_API_KEY    the API key (required)
//	STATUS_PAGE_CHROMIUM   the browser to drive (default /usr/bin/chromium)
//	STATUS_LAYOUT_SHOTS    the directory for the screenshots (required)
//	STATUS_LAYOUT_TEXTS    a JSON array of long texts that must be on screen and wrap (optional)
//	STATUS_LAYOUT_WIDTHS   comma-separated window widths (default 390,1024,1440)
//
// It prints a JSON summary on stdout (the screenshots' paths included) and
// exits 0, or prints what failed on stderr and exits 1, after the summary.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { check, env, run } from "./lib.mjs";

const WAIT_MS = 20_000;
const TOTAL_MS = 120_000;
const HEIGHT = 900;

const url = env.url;
const key = env.key;
const shots = process.env.STATUS_LAYOUT_SHOTS;
const texts = JSON.parse(process.env.STATUS_LAYOUT_TEXTS || "[]");
const widths = (process.env.STATUS_LAYOUT_WIDTHS || "390,1024,1440").split(",").map((w) => parseInt(w, 10));


// measure runs in the page: every check of one width, in one synchronous
// pass, so that no refresh of the page can come between two measurements.
function measure(texts) {
  const problems = [];
  const describe = (e) => {
    if (!e) return "nothing";
    let d = e.tagName.toLowerCase();
    if (e.id) d += "#" + e.id;
    else if (typeof e.className === "string" && e.className) d += "." + e.className.trim().split(/\s+/).join(".");
    const text = (e.getAttribute("aria-label") || e.textContent || "").trim().replace(/\s+/g, " ");
    if (text) d += ` "${text.length > 40 ? text.slice(0, 40) + "…" : text}"`;
    const sec = e.closest("section");
    const h = sec && sec.querySelector("h2");
    if (h && sec !== e) d += ` in ${h.textContent.trim()}`;
    return d;
  };
  const iw = window.innerWidth;
  const pageWidth = document.scrollingElement.scrollWidth;
  if (pageWidth > iw) problems.push(`the page is ${pageWidth} px wide in a ${iw} px window`);

  // Cards never hold content wider than themselves.
  for (const s of document.querySelectorAll("main section")) {
    if (s.getClientRects().length === 0) continue;
    if (s.scrollWidth > s.clientWidth + 1) problems.push(`${describe(s.querySelector("h2") || s)}: content ${s.scrollWidth} px wide in a ${s.clientWidth} px card`);
  }

  // Every control is the element at its own centre, and nothing cuts it.
  const controls = [...document.querySelectorAll("button, a[href], select, input:not([type=hidden]), textarea")]
    .filter((c) => c.getClientRects().length > 0 && getComputedStyle(c).visibility !== "hidden");
  for (const c of controls) {
    c.scrollIntoView({ block: "center", inline: "center" });
    const r = c.getBoundingClientRect();
    const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!at || !(at === c || c.contains(at))) {
      problems.push(`${describe(c)}: ${describe(at)} is at its centre`);
      continue;
    }
    if (r.left < -0.5 || r.right > iw + 0.5) {
      problems.push(`${describe(c)}: reaches outside the window (${Math.round(r.left)} to ${Math.round(r.right)} px)`);
      continue;
    }
    for (let a = c.parentElement; a && a !== document.body; a = a.parentElement) {
      const st = getComputedStyle(a);
      if (st.overflowX === "visible" && st.overflowY === "visible") continue;
      const ar = a.getBoundingClientRect();
      const left = ar.left + a.clientLeft, top = ar.top + a.clientTop;
      if (r.left < left - 0.5 || r.right > left + a.clientWidth + 0.5 || r.top < top - 0.5 || r.bottom > top + a.clientHeight + 0.5) {
        problems.push(`${describe(c)}: cut by ${describe(a)}`);
        break;
      }
    }
  }

  // Long texts wrap inside their cell.
  const wrapped = {};
  for (const t of texts) {
    // The innermost element holding the whole text.
    let holder = null;
    for (const e of document.querySelectorAll("main *")) {
      if (e.getClientRects().length === 0 || !e.textContent.includes(t)) continue;
      if (![...e.children].some((ch) => ch.textContent.includes(t))) { holder = e; break; }
    }
    if (!holder) {
      problems.push(`${JSON.stringify(t.slice(0, 40))}… is not on screen`);
      continue;
    }
    const cell = holder.closest("td, th, li, p, div") || holder;
    const card = holder.closest("section");
    const lines = Math.round(holder.getBoundingClientRect().height / parseFloat(getComputedStyle(holder).lineHeight || "16"));
    wrapped[t.slice(0, 24)] = { cell: Math.round(cell.getBoundingClientRect().width), card: card ? card.clientWidth : null, lines };
    if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`${describe(holder)}: overflows its cell (${cell.scrollWidth} px in ${cell.clientWidth} px)`);
    if (card && cell.getBoundingClientRect().width > card.clientWidth + 1) {
      problems.push(`${describe(holder)}: its cell is ${Math.round(cell.getBoundingClientRect().width)} px wide in a ${card.clientWidth} px card`);
    }
  }
  window.scrollTo(0, 0);
  return { pageWidth, window: iw, controls: controls.length, wrapped, problems };
}

async function drive(page) {
  const errors = [];
  page.on("pageerror", (err) => errors.push("page error: " + err.message));

  await page.goto(url);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Show status" }).click();
  await page.locator("#dashboard").waitFor({ state: "visible" });
  await page.locator("#services tr[data-service]").nth(3).waitFor();
  await page.locator("#alerts tr[data-alert-row]").first().waitFor();
  await page.locator("#silences tr[data-silence]").first().waitFor();
  await page.locator("#source-charts circle").first().waitFor();
  await page.locator("#slos tr[data-slo]").first().waitFor();
  await page.locator("#slo-charts circle").first().waitFor();
  for (const t of texts) {
    await page.waitForFunction((t) => document.querySelector("main").textContent.includes(t), t, { timeout: WAIT_MS })
      .catch(() => {}); // reported by measure, with the screenshots
  }

  // The inline silence form of the first alert, open and typed into.
  const row = page.locator("#alerts tr[data-alert-row]").filter({ has: page.getByRole("button", { name: "Silence", exact: true }) }).first();
  await row.getByRole("button", { name: "Silence", exact: true }).click();
  await row.getByLabel("Silence comment").fill("checking the layout with this form open");

  const summary = { widths: {}, screenshots: [] };
  const problems = [];
  for (const width of widths) {
    await page.setViewportSize({ width, height: HEIGHT });
    // A page that redraws its charts for the new width says so.
    await page.waitForFunction((w) => {
      const h = document.getElementById("history");
      return !h || !h.hasAttribute("data-drawn-width") || h.getAttribute("data-drawn-width") === String(w);
    }, width);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const m = await page.evaluate(measure, texts);
    const path = join(shots, `status-${width}.png`);
    await page.screenshot({ path, fullPage: true });
    summary.widths[width] = m;
    summary.screenshots.push(path);
    for (const p of m.problems) problems.push(`at ${width} px: ${p}`);
  }
  problems.push(...errors);
  return { summary, problems };
}

check(url && key && shots, "STATUS_PAGE_URL, STATUS_PAGE_API_KEY and STATUS_LAYOUT_SHOTS are required");
check(widths.every((w) => w > 0), `bad STATUS_LAYOUT_WIDTHS ${process.env.STATUS_LAYOUT_WIDTHS}`);
await mkdir(shots, { recursive: true });
await run("status layout check", drive, {
  totalMs: TOTAL_MS,
  waitMs: WAIT_MS,
  viewport: { width: widths[0], height: HEIGHT },
  extraArgs: ["--hide-scrollbars"],
});
