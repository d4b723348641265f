// The browser of an end-to-end test session: one Debian Chromium (never a downloaded
// one), driven by playwright-core, that runs scenarios on request.
//
// Protocol (tests/e2e/browser.py speaks it): after start, one line {"ready": true, ...}
// on stdout; then for every line {"scenario": name, "args": {...}} read on stdin, the
// scenario runs in a fresh browser context (no cookies of another scenario) and one line
// {"ok": bool, "result"|"error", "consoleErrors": [...]} is written. stdin closed: exit.
import readline from "node:readline";
import { chromium } from "playwright-core";
import * as scenarios from "./scenarios.mjs";

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function reply(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

// launch() starts Chromium with a new temporary profile, removed when it closes.
const browser = await chromium.launch({
  executablePath: process.env.DANUBE_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ARGS,
});
reply({ ready: true, version: browser.version() });

async function run(name, args) {
  const scenario = scenarios[name];
  if (typeof scenario !== "function") return { ok: false, error: `no scenario ${name}` };
  const context = await browser.newContext({
    baseURL: args.url,
    viewport: args.viewport || { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  context.setDefaultTimeout(args.timeoutMs || 15000);
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const shot = (file) => page.screenshot({ path: `${args.out}/${file}.png`, fullPage: true });
  try {
    const result = await scenario({ page, context, shot, ...args });
    return { ok: true, result: result ?? null, consoleErrors };
  } catch (error) {
    await shot(`${name}-failed`).catch(() => {});
    return { ok: false, error: String(error?.stack || error), url: page.url(), consoleErrors };
  } finally {
    await context.close().catch(() => {});
  }
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { scenario, args } = JSON.parse(line);
  reply(await run(scenario, args || {}));
}
await browser.close();
