// lib.mjs is what every script here shares: checks that fail with a
// message, and one run of a script's drive function in a headless Chromium
// of its own (Debian's, STATUS_PAGE_CHROMIUM), under a deadline, that
// prints the drive's JSON summary on stdout and exits 0, or prints what
// failed on stderr and exits 1.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

// CheckError is a failed check: its message is the whole report.
export class CheckError extends Error {}

// check fails the script with msg unless ok.
export function check(ok, msg) {
  if (!ok) throw new CheckError(msg);
}

// env holds the variables every script reads.
export const env = {
  url: process.env.STATUS_PAGE_URL,
  key: process.env.STATUS_PAGE_API_KEY,
  chromium: process.env.STATUS_PAGE_CHROMIUM || "/usr/bin/chromium",
  screenshot: process.env.STATUS_PAGE_SCREENSHOT || "",
};

// run drives one page with drive(page), which returns the summary, and ends
// the process: it gives up after totalMs, waits waitMs at most for each
// step, and saves a screenshot to STATUS_PAGE_SCREENSHOT, when set, if
// drive fails. drive may return { summary, problems }: problems fail the
// run after the summary is printed. extraArgs go to Chromium.
export async function run(name, drive, { totalMs = 60_000, waitMs = 15_000, viewport, extraArgs = [] } = {}) {
  const timer = setTimeout(() => {
    console.error(`${name}: gave up after ${totalMs / 1000} s`);
    process.exit(1);
  }, totalMs);
  try {
    let out = await withPage(drive, waitMs, viewport, extraArgs);
    if (!out || !Array.isArray(out.problems)) out = { summary: out, problems: [] };
    console.log(JSON.stringify(out.summary));
    clearTimeout(timer);
    if (out.problems.length) {
      console.error(`${name}: ${out.problems.length} problems:\n` + out.problems.join("\n"));
      process.exit(1);
    }
  } catch (err) {
    console.error(`${name} failed: ` + (err instanceof CheckError ? err.message : err.stack || err));
    process.exit(1);
  }
}

async function withPage(drive, waitMs, viewport, extraArgs) {
  const userDataDir = await mkdtemp(join(tmpdir(), "otelmon-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: env.chromium,
    headless: true,
    ...(viewport ? { viewport } : {}),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", ...extraArgs],
    timeout: waitMs,
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(waitMs);
  try {
    return await drive(page);
  } catch (err) {
    if (env.screenshot) await page.screenshot({ path: env.screenshot, fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
}
