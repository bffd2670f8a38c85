// The provisioning gate in a real browser: an administrator reads the overview's cards, finds
// the machine block mode held back, releases it with a reason, reads Scan Results and the
// audit log, and saves the settings form. Started by crates/bulwark/tests/provisioning_ui.rs.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
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
const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
page.setDefaultTimeout(30_000);
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const text = async (selector) => (await page.locator(selector).innerText()).trim();

try {
  await page.goto(`${url}/login`);
  await page.fill("#username", env("ADMIN_USER"));
  await page.fill("#password", env("ADMIN_PASSWORD"));
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);

  await page.click("nav.nav >> text=Provisioning");
  await page.waitForURL(`${url}/provisioning`);
  check((await text("[data-testid=total-scans]")) === "1", "the Total Scans card counts the machine");
  check((await text("[data-testid=blocked]")) === "1", "the Blocked VMs card counts it");
  const row = page.locator("tr[data-vm=vm-ui]");
  check((await row.locator("[data-testid=vm-status]").innerText()) === "blocked", "the machine's badge says blocked");
  check(/could not be scanned/.test(await row.innerText()), "the row says why it is blocked");
  await shot("60-provisioning-blocked");

  await row.locator("input[name=reason]").fill("console checked by hand, ticket OPS-9");
  await Promise.all([page.waitForURL(`${url}/provisioning`), row.locator("button", { hasText: "Release" }).click()]);
  await page.locator("[data-testid=blocked]", { hasText: "0" }).waitFor();
  const released = page.locator("tr[data-vm=vm-ui]");
  check((await released.locator("[data-testid=vm-status]").innerText()) === "released", "after Release the badge says released");
  check(/released by ada: console checked by hand/.test(await released.innerText()), "the row names who released it and why");
  check((await released.locator("button", { hasText: "Release" }).count()) === 0, "a released machine offers no Release");
  await shot("61-provisioning-released");

  await page.click("nav.tabs >> text=Scan Results");
  await page.selectOption("select[name=status]", "failed");
  await Promise.all([page.waitForURL(/status=failed/), page.click("form.filters button[type=submit]")]);
  check((await page.locator("tr[data-vm=vm-ui]").count()) === 1, "Scan Results filters by status");

  await page.goto(`${url}/audit?action=release`);
  check(/released the handover of vm-ui/.test(await text("[data-testid=audit]")), "the audit log records the release");

  await page.goto(`${url}/provisioning/settings`);
  check(await page.isChecked("input[name=enabled]"), "Settings shows scanning enabled");
  await page.fill("#min-score", "80");
  await Promise.all([page.waitForURL(/org_id=/), page.click("[data-testid=provisioning-settings] button[type=submit]")]);
  check((await page.inputValue("#min-score")) === "80", "the saved minimum score is shown");
  await shot("62-provisioning-settings");
  check(errors.length === 0, `no script errors (${errors.join("; ")})`);
} finally {
  await browser.close();
}
