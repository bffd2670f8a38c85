// Agentless scanning in a real browser: an administrator stores an SSH key, registers this
// machine (a real sshd on loopback) as a host, checks it, approves the key it offers, checks
// again, scans it and reads the results. Started by crates/bulwark/tests/browser.rs.
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
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
page.setDefaultTimeout(30_000);
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

try {
  await page.goto(`${url}/login`);
  await page.fill("#username", env("ADMIN_USER"));
  await page.fill("#password", env("ADMIN_PASSWORD"));
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);

  // A credential: the login's private key, stored sealed; a bad key is refused beside its field.
  await page.goto(`${url}/hosts`);
  await page.fill("#ssh-cred-name", "loopback key");
  await page.fill("#ssh-cred-key", "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key");
  await page.click("#ssh-credential button[type=submit]");
  await page.locator('#ssh-credential [data-error-for="private_key"]').filter({ hasText: /\S/ }).waitFor();
  check(true, "a key that cannot be read is refused beside its field");
  await page.fill("#ssh-cred-key", env("CLIENT_KEY"));
  await page.click("#ssh-credential button[type=submit]");
  await page.locator("#ssh-credential [data-testid=public-key]").waitFor();
  check((await page.locator("#ssh-credential [data-testid=public-key]").innerText()).startsWith("ssh-ed25519 "),
    "the stored credential shows its public key, never the private one");
  await shot("20-ssh-credential");

  // Register this machine.
  await page.goto(`${url}/hosts`);
  await page.fill("#agentless-hostname", "loopback");
  await page.fill("#agentless-address", "127.0.0.1");
  await page.fill("#agentless-port", env("SSH_PORT"));
  await page.fill("#agentless-username", env("SSH_USER"));
  await Promise.all([page.waitForURL(/\/hosts\/[0-9a-f-]+$/), page.click("#agentless-host button[type=submit]")]);
  check(await page.locator("#ssh-panel").isVisible(), "the new host's page shows its SSH connection");

  // First Check: the key is only offered; approving it is a deliberate act.
  await Promise.all([page.waitForLoadState("load"), page.click("#ssh-check")]);
  await page.locator("[data-testid=offered-key]").waitFor();
  const offered = (await page.locator("[data-testid=offered-key]").innerText()).trim();
  check(offered === env("HOST_FINGERPRINT"), `the offered key is the host's own (${offered})`);
  check((await page.locator("[data-testid=ssh-problems]").innerText()).includes("host key pending"),
    "the check says the key is pending");
  await shot("21-ssh-key-pending");
  await Promise.all([page.waitForLoadState("load"), page.click("#approve-key")]);
  await page.locator("[data-testid=offered-key]").waitFor({ state: "detached" });
  await Promise.all([page.waitForLoadState("load"), page.click("#ssh-check")]);
  await page.locator("[data-testid=ssh-check] .badge-online").waitFor();
  check((await page.locator("#ssh-panel").innerText()).includes("passwordless"), "the second check finds passwordless sudo");
  await shot("22-ssh-checked");

  // Scan it with the Level 1 template, as any host.
  const hostUrl = page.url();
  await page.goto(`${hostUrl}?tab=compliance`);
  await page.selectOption("select[name=template_id]", "cis-linux-l1");
  await page.click("form[hx-post='/scans'] button[type=submit]");
  await page.locator(".scan-progress").first().waitFor();
  await page.waitForFunction(
    () => /(\d+) of \1 scans finished/.test(document.querySelector(".scan-progress")?.textContent ?? ""),
    null,
    { timeout: 180_000, polling: 500 },
  );
  await page.goto(`${hostUrl}?tab=compliance`);
  const scanLink = page.locator("table.data a[href^='/scans/']").first();
  await Promise.all([page.waitForURL(/\/scans\/[0-9a-f-]+$/), scanLink.click()]);
  const score = parseFloat(await page.locator("[data-testid=scan-score]").innerText());
  check(score > 0 && score < 100, `the agentless scan is scored (${score})`);
  check(await page.locator("details.result").count() > 20, "its per-check results are listed");
  await shot("23-ssh-scan");
  check(errors.length === 0, `no script errors (${errors.join("; ")})`);
} catch (e) {
  await shot("99-agentless-failure").catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
