// The producer's web page in a real headless Chromium (Debian's), driven by
// playwright-core: health check, insert (Unicode name), conflict, invalid SRN, delete.
// Screenshots go to web/test-output/. Run by scripts/browser-test against BASE_URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const OUT = new URL("./test-output/", import.meta.url).pathname;
const WAIT = { timeout: 15_000 };
mkdirSync(OUT, { recursive: true });

let context;
let page;

before(async () => {
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "records-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: { width: 1100, height: 900 },
  });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT.timeout);
});

after(async () => {
  await context?.close();
});

const srn = "WEB" + Date.now().toString(36).toUpperCase();
const name = "Zoë 李小龍";
const row = () => page.locator(`tbody#records tr[data-srn="${srn}"]`);

test("the page loads and a health check round-trips", async () => {
  await page.goto(BASE_URL + "/", WAIT);
  assert.equal(await page.title(), "Student records");
  await page.fill("[data-testid=health-text]", "from the browser");
  await page.click("[data-testid=health]");
  const message = page.locator("[data-testid=health-message]");
  await message.filter({ hasText: "from the browser" }).waitFor(WAIT);
  assert.match(await message.textContent(), /consumer-health answered .from the browser. in [\d.]+ ms/);
  await page.screenshot({ path: OUT + "1-health.png", fullPage: true });
});

test("inserting shows the row with exactly the name given", async () => {
  await page.fill("[data-testid=name]", name);
  await page.fill("[data-testid=srn]", srn.toLowerCase());
  await page.fill("[data-testid=section]", "B");
  await page.click("[data-testid=insert]");
  await row().waitFor(WAIT);
  assert.equal(await row().locator("td.name").textContent(), name);
  assert.equal(await row().locator("td.srn").textContent(), srn);
  assert.match(await page.locator("[data-testid=insert-message]").textContent(), new RegExp(`Inserted ${srn}`));
  await page.screenshot({ path: OUT + "2-inserted.png", fullPage: true });
});

test("inserting the same SRN again shows the conflict plainly", async () => {
  await page.fill("[data-testid=name]", "Someone Else");
  await page.fill("[data-testid=srn]", srn);
  await page.fill("[data-testid=section]", "C");
  await page.click("[data-testid=insert]");
  const message = page.locator("[data-testid=insert-message].error");
  await message.waitFor(WAIT);
  assert.match(await message.textContent(), /already exists/);
  assert.match(await message.textContent(), new RegExp(name));
  assert.equal(await row().locator("td.name").textContent(), name, "the stored record is untouched");
  await page.screenshot({ path: OUT + "3-conflict.png", fullPage: true });
});

test("an invalid SRN is reported on the SRN field", async () => {
  await page.fill("[data-testid=name]", "Ann");
  await page.fill("[data-testid=srn]", "not valid!");
  await page.fill("[data-testid=section]", "A");
  await page.click("[data-testid=insert]");
  // The conflict's message above names the SRN too: wait for this answer's own words.
  await page.locator("[data-testid=insert-message].error").filter({ hasText: "may contain only" }).waitFor(WAIT);
  assert.equal(await page.getAttribute("[data-testid=srn]", "aria-invalid"), "true");
  assert.equal(await page.getAttribute("[data-testid=name]", "aria-invalid"), "false");
  await page.screenshot({ path: OUT + "4-invalid.png", fullPage: true });
});

test("deleting removes the row", async () => {
  await row().locator("[data-testid=delete]").click();
  await row().waitFor({ state: "detached", ...WAIT });
  assert.match(await page.locator("[data-testid=records-message]").textContent(), new RegExp(`Deleted ${srn}`));
  await page.screenshot({ path: OUT + "5-deleted.png", fullPage: true });
});
