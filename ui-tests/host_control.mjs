// Host control in a real browser: an administrator runs one action from each host tab
// (a service, a process, a user, a group, a diagnostic, a script) on this machine's agent,
// watches each job end on its page, reads the Jobs page and the audit log, and switches the
// organization's script flag off. Started by crates/bulwark/tests/host_control.rs.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const url = env("BULWARK_URL");
const host = env("HOST_ID");
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
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
page.setDefaultTimeout(60_000);
page.on("dialog", (d) => d.accept());
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

/// Submits a form of the host page and waits on the job page for the job to end.
async function runs(tab, form, fill, expect, name) {
  await page.goto(`${url}/hosts/${host}?tab=${tab}`);
  await fill(page.locator(form));
  await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]+$/), page.locator(form).locator("button[type=submit]").click()]);
  await page.locator("[data-testid=job-status]", { hasText: /succeeded|failed|expired|cancelled/ }).waitFor();
  const status = await page.locator("[data-testid=job-status]").innerText();
  const message = await page.locator("[data-testid=job-message]").innerText();
  check(status === "succeeded" && expect.test(message), `${name}: ${message}`);
  await shot(`40-job-${tab}`);
}

try {
  await page.goto(`${url}/login`);
  await page.fill("#username", env("ADMIN_USER"));
  await page.fill("#password", env("ADMIN_PASSWORD"));
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);

  const service = env("SERVICE");
  await runs("services", "#host-actions form", async (f) => {
    await f.locator("input[name=name]").fill(service);
    await f.locator("select[name=action]").selectOption("start");
  }, /is running$/, "the Services tab starts a service");

  await runs("processes", "#host-actions form", async (f) => {
    await f.locator("input[name=pid]").fill(env("PID"));
    await f.locator("input[name=grace_secs]").fill("3");
  }, /is gone/, "the Processes tab kills a process");

  const user = env("USER_NAME");
  await runs("users", "#create-user", async (f) => {
    await f.locator("input[name=name]").fill(user);
    await f.locator("input[name=password]").fill("a password typed in a browser");
  }, /was created, with a password/, "the Users tab creates a user");

  const group = env("GROUP_NAME");
  await runs("groups", "#group-form", async (f) => {
    await f.locator("select[name=type]").selectOption("create_group");
    await f.locator("input[name=name]").fill(group);
  }, /was created/, "the Groups tab creates a group");

  await runs("diagnostics", "#diagnostic-form", async (f) => {
    await f.locator("select[name=type]").selectOption("ping");
    await f.locator("input[name=target]").fill("127.0.0.1");
  }, /reachable/, "the Diagnostics tab pings");
  check((await page.locator("[data-testid=job-stdout]").innerText()).includes("4 received"), "the ping's output is shown");

  await runs("jobs", "#script-form", async (f) => {
    await f.locator("textarea[name=script]").fill("echo hello from the browser");
  }, /exited 0/, "the Jobs tab runs a script");
  check((await page.locator("[data-testid=job-stdout]").innerText()).includes("hello from the browser"), "the script's output is shown");

  // A refused action says why, beside the form.
  await page.goto(`${url}/hosts/${host}?tab=diagnostics`);
  await page.locator("#diagnostic-form select[name=type]").selectOption("ping");
  await page.locator("#diagnostic-form input[name=target]").fill("127.0.0.1; reboot");
  await page.locator("#diagnostic-form button[type=submit]").click();
  await page.locator("#diagnostic-form .form-status", { hasText: "action.target" }).waitFor();
  check(true, "a target that is not a host name is refused beside the form");

  await runs("users", "#manage-user", async (f) => {
    await f.locator("input[name=name]").fill(user);
    await f.locator("select[name=type]").selectOption("delete_user");
  }, /was deleted/, "the Users tab deletes the user");
  await runs("groups", "#group-form", async (f) => {
    await f.locator("select[name=type]").selectOption("delete_group");
    await f.locator("input[name=name]").fill(group);
  }, /was deleted/, "the Groups tab deletes the group");

  // The Jobs page lists them, filtered by kind.
  await page.goto(`${url}/jobs`);
  const rows = await page.locator("[data-testid=jobs] tbody tr").count();
  check(rows >= 8, `the Jobs page lists every job (${rows})`);
  await page.goto(`${url}/jobs?kind=diagnostic`);
  const kinds = await page.locator("[data-testid=jobs] tbody tr").allInnerTexts();
  check(kinds.length >= 1 && kinds.every((r) => /ping|traceroute|DNS|netstat|port/.test(r)), "the kind filter keeps diagnostics");
  await shot("41-jobs");

  // The audit log names every action, and exports.
  await page.goto(`${url}/audit?action=jobs`);
  const audit = await page.locator("[data-testid=audit]").innerText();
  for (const said of [`start service ${service}`, "kill process", `create user ${user}`, `create group ${group}`, "ping 127.0.0.1", "bash script"]) {
    check(audit.includes(said), `the audit log says "${said}"`);
  }
  check(!audit.includes("a password typed in a browser"), "the audit log never shows a password");
  await shot("42-audit");

  // The organization's script flag, switched off in Settings, stops scripts at once.
  await page.goto(`${url}/settings`);
  await page.locator(`[id$="-script_execution"]`).first().click();
  await page.waitForLoadState("networkidle");
  await page.goto(`${url}/settings`);
  check((await page.locator(`[id$="-script_execution"]`).first().innerText()) === "Switch on", "the flag is off");
  await page.goto(`${url}/hosts/${host}?tab=jobs`);
  await page.locator("#script-form textarea[name=script]").fill("echo never");
  await page.locator("#script-form button[type=submit]").click();
  await page.locator("#script-form .form-status", { hasText: "script_execution" }).waitFor();
  check(true, "with the flag off, a script is refused with the reason");
  await shot("43-script-refused");

  check(errors.length === 0, `no script errors in the page (${errors.join("; ")})`);
} catch (e) {
  await shot("49-host-control-failure").catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
