// inventory-check's HTML report in a real headless Chromium (Debian's), driven by
// playwright-core: one report of the running stack (every check passes) and one of a
// deliberately flawed server (a 500 on a missing argument), each opened from its file.
// Needs the checker built (scripts/check builds it) and python3 for the flawed server.
// Screenshots go to web/test-output/. Run by scripts/browser-test against BASE_URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { once } from "node:events";
import { chromium } from "playwright-core";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const ROOT = new URL("../", import.meta.url).pathname;
const CHECKER = process.env.CHECKER ?? join(ROOT, "target/debug/inventory-check");
const OUT = new URL("./test-output/", import.meta.url).pathname;
const WAIT = { timeout: 15_000 };
mkdirSync(OUT, { recursive: true });

/** Runs the checker; its exit status (1 when a required check failed). */
function check(url, html) {
  try {
    execFileSync(CHECKER, [url, "--html", html, "--no-progress", "--slow-ms", "3600000"], { stdio: "ignore" });
    return 0;
  } catch (e) {
    if (typeof e.status !== "number") throw e;
    return e.status;
  }
}

let context;
let page;
let flawed;
const fetched = [];
const stackReport = join(OUT, "check-report.html");
const flawedReport = join(OUT, "check-report-flawed.html");

before(async () => {
  assert.equal(check(BASE_URL, stackReport), 0, "the stack passes every required check");
  flawed = spawn("python3", [join(ROOT, "checker/tests/flawed/server.py"), "--flaw", "missing-500"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = await once(flawed.stdout, "data");
  const port = Number.parseInt(chunk.toString(), 10);
  assert.equal(check(`http://127.0.0.1:${port}`, flawedReport), 1, "the flawed server fails");
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "records-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 1300, height: 900 },
  });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT.timeout);
  // Self-contained: the report must not fetch anything; anything it tries is refused
  // and remembered.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    fetched.push(url);
    return route.abort();
  });
});

after(async () => {
  flawed?.kill();
  await context?.close();
});

const rows = () => page.locator("table.checks tbody tr.check");

test("the stack's report renders every check as passed, with its curl commands", async () => {
  await page.goto(pathToFileURL(stackReport).href, WAIT);
  assert.equal(await page.title(), "inventory-check report");
  assert.match(await page.locator(".verdict").textContent(), /^PASS: every required check passed/);
  assert.equal(await rows().count(), 14);
  for (const status of await rows().evaluateAll((trs) => trs.map((tr) => tr.dataset.status))) {
    assert.equal(status, "pass");
  }
  // Every check that observed requests says how to send them again.
  for (const check of ["health", "read", "insert", "delete", "read-your-write", "read-all", "duplicate",
    "delete-exact", "delete-missing", "parallel", "alive"]) {
    const commands = page.locator(`tr[data-check="${check}"] td:last-child code.curl`);
    assert.ok(await commands.count() >= 1, `${check} has a curl command`);
    assert.match(await commands.first().textContent(), /^curl -sS -i --max-time \d+ /);
  }
  const insert = page.locator('tr[data-check="insert"]');
  assert.equal(await insert.locator("td.status").textContent(), "pass");
  const curl = insert.locator("code.curl").first();
  assert.ok(await curl.isVisible());
  assert.match(await curl.textContent(), /^curl -sS -i --max-time \d+ -X POST '.*\/insert_record'/);
  assert.deepEqual(fetched, [], "nothing fetched");
  await page.screenshot({ path: OUT + "report-stack.png", fullPage: true });
});

test("a flawed server's report shows its one failure and how to reproduce it", async () => {
  await page.goto(pathToFileURL(flawedReport).href, WAIT);
  assert.match(await page.locator(".verdict").textContent(), /required check failed: bad-input/);
  const bad = page.locator('tr[data-check="bad-input"]');
  assert.equal(await bad.getAttribute("data-status"), "fail");
  assert.equal(await bad.locator("td.status").textContent(), "FAIL");
  assert.equal(await bad.locator("td.kind").textContent(), "required");
  assert.match(await bad.locator(".why").textContent(), /insert without SRN: 500/);
  const curl = bad.locator("td:last-child code.curl").first();
  assert.ok(await curl.isVisible());
  assert.match(await curl.textContent(), /^curl .*-X POST .*insert_record/);
  // The details list every probe; it opens on a click.
  await bad.locator("details summary").click();
  assert.ok(await bad.locator("ul.details li").first().isVisible());
  const failing = await rows().evaluateAll((trs) => trs.filter((tr) => tr.dataset.status === "fail").map((tr) => tr.dataset.check));
  assert.deepEqual(failing, ["bad-input"]);
  const colour = await bad.locator("td.status").evaluate((td) => getComputedStyle(td).color);
  assert.equal(colour, "rgb(207, 34, 46)", "failures are red");
  assert.deepEqual(fetched, [], "nothing fetched");
  await page.screenshot({ path: OUT + "report-flawed.png", fullPage: true });
});
