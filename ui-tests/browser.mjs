// The web UI in a real browser (Debian's chromium driven by playwright-core) against a real
// server and a real agent scanning a fixture root. Started by crates/bulwark/tests/browser.rs,
// which passes the server's URL, the users and where to write screenshots.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const url = env("BULWARK_URL");
const shots = env("SCREENSHOTS");
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
  headless: true,
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(20_000);
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

async function login(user, password) {
  await page.goto(`${url}/`);
  check(page.url().includes("/login"), `${user}: pages ask for a login first`);
  await page.fill("#username", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
}

/// Waits for a bulk or single scan's progress bar to report every scan finished.
async function waitForScan() {
  await page.locator(".scan-progress").first().waitFor();
  await page.waitForFunction(
    () => /(\d+) of \1 scans finished/.test(document.querySelector(".scan-progress")?.textContent ?? ""),
    null,
    { timeout: 180_000, polling: 500 },
  );
}

async function scoreOfOpenScan() {
  return parseFloat(await page.locator("[data-testid=scan-score]").innerText());
}

try {
  await login(env("ADMIN_USER"), env("ADMIN_PASSWORD"));
  check(await page.locator("h1", { hasText: "Compliance dashboard" }).isVisible(), "the dashboard opens after login");
  await shot("01-dashboard-empty");

  // The agent's host is the only one; it appears once the agent has enrolled.
  for (let i = 0; i < 60; i++) {
    await page.goto(`${url}/hosts?status=online`);
    if (await page.locator("table.data td a").count()) break;
    await page.waitForTimeout(1000);
  }
  check(await page.locator("table.data td a").count() === 1, "the agent's host is listed online");
  const hostname = (await page.locator("table.data td a").first().innerText()).trim();
  await shot("02-hosts");

  // Create a policy; the server's objections (a bad cron expression, a Linux template for
  // Windows hosts) are all shown at once, each beside its field.
  await page.goto(`${url}/policies`);
  await page.fill("#new-name", "Debian servers");
  await page.selectOption("#new-os", "windows");
  await page.selectOption("#new-template", "cis-linux-l1");
  await page.selectOption("#new-schedule", "scheduled");
  await page.fill("#new-cron", "every tuesday");
  await page.click("#new-policy button[type=submit]");
  await page.locator('#new-policy [data-error-for="cron"]').filter({ hasText: /\S/ }).waitFor();
  check(await page.locator('#new-policy [name="cron"][aria-invalid="true"]').count() === 1, "a bad cron expression is explained beside its field");
  check((await page.locator('#new-policy [data-error-for="template_id"]').innerText()).includes("windows"), "the template's objection is shown beside it in the same answer");
  const cronError = await page.locator('#new-policy [data-error-for="cron"]').innerText();
  const summary = await page.locator("#new-policy [role=alert]").innerText();
  check(summary.startsWith("Check ") && !summary.includes(cronError), `each error is said once, the alert names the fields by their labels ("${summary}")`);
  check(summary.includes("Cron") && summary.includes("Template"), `the alert names both fields ("${summary}")`);
  await shot("03-policy-error");
  await page.selectOption("#new-os", "linux");
  await page.selectOption("#new-schedule", "continuous");
  await page.fill("#new-cron", "");
  await Promise.all([page.waitForURL(/\/policies\/[0-9a-f-]+$/), page.click("#new-policy button[type=submit]")]);
  check(await page.locator("h1", { hasText: "Debian servers" }).isVisible(), "the policy is created");
  await shot("04-policy");

  // Scan the host from the policy page and follow the progress bar.
  await page.locator(".checkbox-list input[name=host_id]").first().check();
  await page.click("text=Scan selected hosts");
  await waitForScan();
  check(true, "the scan finishes (progress bar at 100%)");
  await Promise.all([page.waitForURL(/\/scans\/[0-9a-f-]+$/), page.click("text=open the scan")]);
  const firstScore = await scoreOfOpenScan();
  check(firstScore > 0 && firstScore < 100, `the scan has a score (${firstScore})`);
  check(await page.locator("details.result").count() > 10, "per-check results are listed");
  await page.locator("nav.tabs a", { hasText: /^fail/ }).click();
  await page.locator("details.result").first().locator("summary").click();
  check(await page.locator("details.result[open] dt", { hasText: "Actual value" }).isVisible(), "a failed check shows its actual value");
  await shot("05-scan-failures");
  const scanUrl = page.url().split("?")[0];

  // Export the results as CSV.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Export CSV")]);
  const csv = readFileSync(await download.path(), "utf8");
  check(csv.startsWith("check_id,title,category,severity,status,actual,expected,reason"), "the results export as CSV");
  check(csv.split("\n").length > 10, "the CSV has a row per check");

  // The host's compliance tab draws its score history.
  await page.goto(`${url}/hosts`);
  await page.click(`td a:text("${hostname}")`);
  await page.click("nav.tabs a:text('Compliance')");
  check(await page.locator("figure.chart svg .chart-point").count() >= 1, "the score history chart is drawn");
  await shot("06-host-compliance");

  // Waive the first failing check for this host; the next scan scores higher.
  await page.goto(`${scanUrl}?status=fail`);
  await page.locator("details.result").first().locator("summary").click();
  await Promise.all([page.waitForURL(/\/exceptions\?/), page.click("details.result[open] >> text=Create an exception")]);
  check((await page.inputValue("#ex-rule")).length > 0, "the exception form is filled from the failed check");
  await page.fill("#ex-reason", "Accepted for the browser test");
  await Promise.all([page.waitForURL(`${url}/exceptions`), page.click("#new-exception button[type=submit]")]);
  check(await page.getByRole("cell", { name: "Accepted for the browser test", exact: true }).isVisible(), "the exception is listed");
  // Edited in place: a new reason, the same waiver.
  await page.locator("details >> summary:text('Edit')").first().click();
  await page.locator("details[open] textarea[name=reason]").fill("Accepted again after review");
  const [saved] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && /\/exceptions\/[0-9a-f-]+$/.test(r.url())),
    page.locator("details[open] button[type=submit]").click(),
  ]);
  check(saved.ok(), `the edit is saved (${saved.status()})`);
  // The answer sends the page back to the list, which then shows the new reason.
  await page.getByRole("cell", { name: "Accepted again after review", exact: true }).waitFor({ timeout: 10000 });
  await shot("07-exceptions");
  await page.goto(`${url}/hosts`);
  await page.click(`td a:text("${hostname}")`);
  await page.click("nav.tabs a:text('Compliance')");
  const failedCard = page.locator("#host-cards .card", { hasText: "Failed" }).locator(".card-value");
  const failedBefore = await failedCard.innerText();
  await page.click("form >> button:text('Scan')");
  await waitForScan();
  // The host's cards follow the scan that just finished, without a reload.
  await page.waitForFunction(
    (before) => document.querySelector("#host-cards")?.textContent.includes("Failed") &&
      [...document.querySelectorAll("#host-cards .card")].find((c) => c.textContent.includes("Failed"))?.querySelector(".card-value")?.textContent.trim() !== before,
    failedBefore.trim(),
    { timeout: 20_000 },
  );
  check(true, "the host's score cards show the new scan");
  await Promise.all([page.waitForURL(/\/scans\/[0-9a-f-]+$/), page.click("text=open the scan")]);
  const secondScore = await scoreOfOpenScan();
  check(secondScore > firstScore, `the exception raises the next score (${firstScore} -> ${secondScore})`);

  // The other main pages render with data.
  for (const [path, name] of [["/", "08-dashboard"], ["/scans", "09-scans"], ["/trends", "10-trends"], ["/templates", "11-templates"], ["/templates/cis-linux-l1", "12-template"], ["/export", "13-export"], ["/settings", "14-settings"]]) {
    await page.goto(`${url}${path}`);
    check(!(await page.locator("h1", { hasText: /Not found|Something went wrong|Not allowed/ }).count()), `${path} renders`);
    await shot(name);
  }
  await page.goto(`${url}/`);
  check(await page.locator("figure.chart svg .chart-line").count() >= 1, "the dashboard draws the 30-day trend");
  await page.setViewportSize({ width: 390, height: 844 });
  await shot("15-dashboard-narrow");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `no sideways scrolling on a narrow window (${overflow}px)`);
  const hidden = await page.locator("nav.nav a").evaluateAll((links) =>
    links.filter((a) => { const r = a.getBoundingClientRect(); return r.right > window.innerWidth || r.left < 0; }).map((a) => a.textContent.trim()));
  check(hidden.length === 0, `every section is in sight on a phone (out of sight: ${hidden.join(", ")})`);
  for (const path of ["/hosts", "/scans", "/policies"]) {
    await page.goto(`${url}${path}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(wide <= 1, `${path} fits a narrow window (${wide}px too wide)`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // A viewer sees no edit controls, and posting anyway is refused with 403.
  await page.click(".user-menu button");
  await page.waitForURL(/\/login/);
  await login(env("VIEWER_USER"), env("VIEWER_PASSWORD"));
  await page.goto(`${url}/policies`);
  check(await page.locator("#new-policy").count() === 0, "a viewer gets no policy form");
  await page.goto(scanUrl);
  check(await page.locator("text=Create an exception").count() === 0, "a viewer gets no exception buttons");
  const status = await page.evaluate(async () => {
    const token = JSON.parse(document.body.getAttribute("hx-headers"))["x-csrf-token"];
    const r = await fetch("/policies", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-csrf-token": token, "hx-request": "true" },
      body: "name=x&os_type=linux&template_id=cis-linux-l1",
    });
    return r.status;
  });
  check(status === 403, `a viewer posting a policy anyway gets 403 (${status})`);
  await shot("16-viewer-scan");
  check(errors.length === 0, `no script errors (${errors.join("; ")})`);
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(`FAILED at ${page.url()}: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
