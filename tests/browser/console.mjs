// The web console driven in Debian's chromium (playwright-core, headless) against a running
// mailmoat: tests/integration/test_console.py starts the server, makes the tenants, users and
// quarantined mail, runs this script and checks its exit code and the JSON it prints last.
// Input (environment): MM_URL, MM_PASSWORD, MM_ARTIFACTS, MM_SCENARIO (JSON, see the test).
// Output: one JSON line {"ok": bool, "steps": [{"name", "ok", "error"?}], "screenshots": [...],
// "facts": {...}}; exit status 0 only when every step passed.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const BASE = process.env.MM_URL ?? "https://127.0.0.1:8443";
const PASSWORD = process.env.MM_PASSWORD ?? "";
const ART = process.env.MM_ARTIFACTS ?? "build/test-artifacts/console";
const S = JSON.parse(process.env.MM_SCENARIO ?? "{}");
const STEP_TIMEOUT = 10_000;
fs.mkdirSync(ART, { recursive: true });

const steps = [];
const screenshots = [];
const facts = {};
const apiLog = []; // every /api/ response: method, path, status
let page;

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret for time step `counter`.
function totp(secret, counter) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac("sha1", key).update(msg).digest();
  const off = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, "0");
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function shot(name) {
  const file = path.join(ART, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    steps.push({ name, ok: true, ms: Date.now() - t0 });
  } catch (e) {
    steps.push({ name, ok: false, ms: Date.now() - t0, error: String(e?.message ?? e).slice(0, 2000) });
    try {
      await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, "-")}`);
    } catch {
      /* no page to show */
    }
  }
}

async function login(name, password = PASSWORD) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.locator("#login-submit").click();
}

async function loggedIn(name) {
  await login(name);
  await page.locator("header.top .who").filter({ hasText: name }).waitFor({ timeout: STEP_TIMEOUT });
}

async function logout() {
  await page.locator("#logout").click();
  await page.locator("#login-submit").waitFor();
}

async function visit(pathname) {
  await page.goto(`${BASE}${pathname}`);
  await page.locator("main h1").first().waitFor();
  await page.locator("main .loading").first().waitFor({ state: "detached", timeout: STEP_TIMEOUT }).catch(() => {});
}

function apiStatuses(prefix) {
  return apiLog.filter((r) => r.path.startsWith(prefix)).map((r) => r.status);
}

const browser = await chromium.launch({
  executablePath: process.env.MM_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({
  ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 }, locale: "en-GB", timezoneId: "Asia/Tokyo",
});
context.setDefaultTimeout(STEP_TIMEOUT);
page = await context.newPage();
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
page.on("response", (r) => {
  const u = new URL(r.url());
  if (u.pathname.startsWith("/api/")) apiLog.push({ method: r.request().method(), path: u.pathname + u.search, status: r.status() });
});

try {
  await step("the console is served with the strict CSP", async () => {
    const res = await page.goto(`${BASE}/login`);
    check(res && res.status() === 200, `GET /login answered ${res?.status()}`);
    const csp = res.headers()["content-security-policy"] ?? "";
    for (const part of ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"])
      check(csp.includes(part), `CSP has ${part}: ${csp}`);
    const html = await res.text();
    check(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) && !/\sstyle=/i.test(html), "index.html has no inline script or style");
    await page.locator("#login-submit").waitFor();
  });

  await step("keyboard: skip link, labelled fields, visible focus", async () => {
    await page.goto(`${BASE}/login`);
    await page.locator("#login-submit").waitFor();
    await page.keyboard.press("Tab");
    check(await page.evaluate(() => document.activeElement?.id === "skip-link"), "Tab reaches the skip link first");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    check(outline !== "none", "the focused skip link shows an outline");
    await page.keyboard.press("Enter");
    check(await page.evaluate(() => location.hash === "#main" || document.activeElement?.id === "main"), "Enter moves to the content");
    // sign in with the keyboard only
    await page.getByLabel("User name").focus();
    await page.keyboard.type(S.admin);
    await page.keyboard.press("Tab");
    await page.keyboard.type("still not the password");
    await page.keyboard.press("Enter");
    await page.locator("#login-error").filter({ hasText: "Sign-in failed" }).waitFor();
  });

  await step("wrong password shows the error", async () => {
    await login(S.admin, "not the password");
    const err = page.locator("#login-error");
    await err.filter({ hasText: "Sign-in failed" }).waitFor();
    check(apiStatuses("/api/v1/login").includes(401), "the login answered 401");
    check(!(await page.getByLabel("Authentication code").isVisible()), "no code field before the server asks for one");
    await shot("login-error");
  });

  await step("admin logs in and sees the dashboard", async () => {
    await loggedIn(S.admin);
    await page.waitForURL(/\/dashboard$/);
    await page.locator("main h1", { hasText: "Dashboard" }).waitFor();
    await page.locator("main .loading").waitFor({ state: "detached" });
    const total = page.locator("#kpi-total .kpi-value");
    if (await total.count()) {
      facts.dashboard_total = Number((await total.innerText()).replace(/[^0-9]/g, ""));
      facts.dashboard_chart = await page.locator("svg.chart rect").count();
    } else {
      facts.dashboard_total = null;
      await page.locator(".not-available").first().waitFor();
    }
    facts.dashboard_licence = await page.locator("table", { hasText: "Licence usage" }).locator("tbody tr").count();
    await shot("dashboard");
  });

  await step("admin sees the quarantined message and previews it as text", async () => {
    await visit("/quarantine");
    const row = page.locator("tbody tr", { hasText: S.subject });
    await row.waitFor();
    check((await page.locator("tbody tr", { hasText: S.betaSubject }).count()) === 0, "tenant B's message is not listed");
    await shot("quarantine");
    // dates in the browser's time zone (the context's Asia/Tokyo, not the server's)
    const item = await page.evaluate(async (subj) => {
      const r = await fetch(`/api/v1/quarantine?subject=${encodeURIComponent(subj)}`);
      return (await r.json()).items[0];
    }, S.subject);
    const want = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium", timeZone: "Asia/Tokyo" })
      .format(new Date(item.received_at * 1000));
    const shown = await row.locator("td.time").innerText();
    check(shown === want, `received time in Asia/Tokyo: shown ${shown}, expected ${want}`);
    await row.getByRole("button", { name: /^Preview/ }).click();
    const pre = page.locator("#preview-text");
    await pre.waitFor();
    const text = await pre.innerText();
    check(text.includes(S.bodyMarker), `the preview shows the body (${text.slice(0, 200)})`);
    check(text.includes(S.htmlMarker), "markup in the message is shown as text");
    check((await pre.locator("*").count()) === 0, "the preview holds no elements, only text");
    await shot("quarantine-preview");
  });

  await step("admin releases it", async () => {
    await page.locator("#preview").getByRole("button", { name: /^Release:/ }).click();
    await page.locator("#status.status-ok", { hasText: "Released" }).waitFor();
    await page.locator("tbody tr", { hasText: S.subject }).waitFor({ state: "detached" });
    check(apiLog.some((r) => r.method === "POST" && /\/quarantine\/[^/]+\/release$/.test(r.path) && r.status === 200), "release answered 200");
    await shot("quarantine-released");
  });

  await step("admin deletes two messages at once", async () => {
    await visit("/quarantine");
    page.once("dialog", (d) => void d.accept());
    for (const subj of S.bulkSubjects)
      await page.locator("tbody tr", { hasText: subj }).getByRole("checkbox").check();
    await page.locator("#selected-count", { hasText: "2 selected" }).waitFor();
    await page.locator("#bulk-delete").click();
    await page.locator("#status.status-ok", { hasText: "Done: 2" }).waitFor();
    for (const subj of S.bulkSubjects) await page.locator("tbody tr", { hasText: subj }).waitFor({ state: "detached" });
    check((await page.locator("tbody tr", { hasText: S.userSubject }).count()) === 1, "the other messages stay");
    await shot("quarantine-bulk-deleted");
  });

  await step("content rules: the API's error for a bad line, then saved", async () => {
    await visit(`/t/${S.tenantA}/policies`);
    await page.locator("#rules-text").fill("rule broken: nonsense here => maybe");
    await page.getByRole("button", { name: "Save content rules" }).click();
    const st = page.locator("#status.status-error");
    await st.waitFor();
    const msg = await st.innerText();
    check(/400/.test(msg) && msg.length > 30, `the error names the status and the API's message: ${msg}`);
    await shot("policies-rule-error");
    await page.locator("#rules-text").fill('rule no-exe: attachment ~ "*.exe" => reject');
    await page.getByRole("button", { name: "Save content rules" }).click();
    await page.locator("#status.status-ok", { hasText: "Content rules saved" }).waitFor();
    check((await page.locator("#rules-text").inputValue()).includes("no-exe"), "the saved rules are shown again");
  });

  await step("admin adds an approved sender", async () => {
    await visit(`/t/${S.tenantA}/senders`);
    const f = page.locator("#sender-form");
    await f.getByLabel("List").selectOption("allow");
    await f.getByLabel("Address or domain").fill(S.approve);
    await f.getByRole("button", { name: "Add" }).click();
    await page.locator("#status.status-ok").waitFor();
    await page.locator(`tr[data-pattern="${S.approve}"]`).waitFor();
    await shot("senders");
  });

  await step("admin searches the tracking and sees the symbols", async () => {
    await visit("/tracking");
    await page.locator("form.search").getByLabel("Subject").fill(S.subject);
    await page.locator("#track-search").click();
    const row = page.locator("#track-results tbody tr", { hasText: S.subject }).first();
    await row.waitFor();
    await row.getByRole("button", { name: /^Details/ }).click();
    const syms = page.locator("#track-symbols");
    await syms.waitFor();
    const text = await syms.innerText();
    check(text.includes(S.symbol), `the symbols include ${S.symbol}: ${text}`);
    const pathText = await page.locator("#track-path").innerText();
    check(/quarantined/.test(pathText), `the path shows the quarantine: ${pathText.slice(0, 300)}`);
    facts.tracking_symbols = text.split(/\s+/).filter((x) => /^[A-Z_]{3,}$/.test(x));
    await shot("tracking");
    // the release goes on under a new queue id: follow it to its delivery
    await page.locator('#track-details [data-action="follow"]').first().click();
    await page.locator("#track-path", { hasText: "delivered" }).waitFor({ timeout: 20_000 });
    await shot("tracking-released");
  });

  await step("admin visits every other page", async () => {
    for (const [name, p, heading] of [
      ["policies", `/t/${S.tenantA}/policies`, "Policies and rules"],
      ["connection", `/t/${S.tenantA}/connection`, "Connection control"],
      ["domains", `/t/${S.tenantA}/domains`, "Domains and routes"],
      ["accounts", `/t/${S.tenantA}/accounts`, "Accounts and licence"],
      ["users", "/users", "Users and API tokens"],
      ["audit", "/audit", "Audit log"],
      ["settings", "/settings", "My settings"],
      ["cookies", "/cookies", "Cookies"],
    ]) {
      await visit(p);
      await page.locator("main h1", { hasText: heading }).waitFor();
      check((await page.locator("main .error-box").count()) === 0, `${name}: no error (${await page.locator("main").innerText()})`.slice(0, 400));
      await shot(name);
    }
    check((await page.locator("main", { hasText: "mm_session" }).count()) === 1, "the cookie page names mm_session");
    // the audit log shows the release made above
    await visit("/audit");
    check((await page.locator("tbody tr", { hasText: "/release" }).count()) >= 1, "the audit log lists the release");
  });

  await step("admin edits a policy, adds an account and a user", async () => {
    await visit(`/t/${S.tenantA}/policies`);
    const pf = page.locator("section", { hasText: "Class policies" });
    await pf.getByLabel("Rules", { exact: true }).fill(S.policy);
    await pf.getByRole("button", { name: "Save" }).click();
    await page.locator("#status.status-ok", { hasText: "Policy saved" }).waitFor();
    await page.locator("tbody tr", { hasText: S.policy }).waitFor();
    await visit(`/t/${S.tenantA}/accounts`);
    await page.getByLabel("Address", { exact: true }).fill(S.newAccount);
    await page.getByRole("button", { name: "Add" }).click();
    await page.locator("tbody tr", { hasText: S.newAccount }).waitFor();
    await visit("/users");
    const uf = page.locator("form", { has: page.getByRole("button", { name: "Create user" }) });
    await uf.getByLabel("Name").fill(S.newUser);
    await uf.getByLabel("Role").selectOption("user");
    await uf.getByLabel("Account (end users)").fill(S.newAccount);
    await uf.getByLabel("Password").fill(PASSWORD);
    await uf.getByRole("button", { name: "Create user" }).click();
    await page.locator("#status.status-ok", { hasText: `User ${S.newUser} created` }).waitFor();
    await page.locator("tbody tr", { hasText: S.newAccount }).waitFor();
  });

  await step("connection control: settings, allow list, reputation lookup", async () => {
    await visit(`/t/${S.tenantA}/connection`);
    if (await page.locator("main .not-available").count()) {
      facts.reputation = "not available";
      await shot("connection-reputation");
      return;
    }
    // strictness and greylisting
    await page.getByLabel("Strictness").selectOption("strict");
    await page.getByLabel(/^Greylisting/).check();
    await page.locator("section", { hasText: "Strictness and greylisting" }).getByRole("button", { name: "Save" }).click();
    await page.locator("#status.status-ok", { hasText: "Connection settings saved" }).waitFor();
    // the tenant's allow list
    const allow = page.locator("section", { hasText: `Allow list of ${S.tenantA}` });
    await allow.getByLabel("Entry").fill(S.allowNet);
    await allow.getByLabel("Note").fill("partner relay");
    await allow.getByRole("button", { name: "Add" }).click();
    await page.locator("#status.status-ok").waitFor();
    await page.locator("tbody tr", { hasText: S.allowNet }).waitFor();
    check((await page.getByLabel("Strictness").inputValue()) === "strict", "the saved strictness is shown again");
    // the lookup: our own sender's learned spam, then an allowed address
    await page.locator("#rep-ip").fill("127.0.0.1");
    await page.locator("#rep-submit").click();
    const out = page.locator("#rep-result");
    await out.locator("#rep-facts, .form-error").first().waitFor();
    check((await out.locator(".form-error").count()) === 0, `the lookup answered: ${await out.innerText()}`);
    const row = out.locator("tbody tr", { hasText: "127.0.0.1" }).first();
    const spam = Number(await row.locator("td").nth(2).innerText());
    check(spam >= 5, `127.0.0.1 has the spam it sent (${spam})`);
    facts.reputation_spam = spam;
    facts.reputation_action = await out.locator("#rep-action .kpi-value").innerText();
    await shot("connection-reputation");
    await page.locator("#rep-ip").fill(S.allowIp);
    await page.locator("#rep-submit").click();
    await out.locator("#rep-allowed", { hasText: S.allowNet }).waitFor();
    facts.reputation = "shown";
  });

  await step("API token is shown once", async () => {
    await visit("/users");
    const f = page.locator("form", { has: page.getByRole("button", { name: "Create token" }) });
    await f.getByLabel("Label").fill("console-test");
    await f.getByRole("button", { name: "Create token" }).click();
    const v = page.locator("#token-value");
    await v.waitFor();
    check((await v.innerText()).length >= 20, "the token secret is shown");
    await shot("users-token");
    await visit("/users");
    check((await page.locator("#token-value").count()) === 0, "the secret is not shown again");
  });

  await step("768 px layout", async () => {
    await page.setViewportSize({ width: 768, height: 1000 });
    for (const [name, p] of [["dashboard-768", "/dashboard"], ["quarantine-768", "/quarantine?status=any"], ["tracking-768", `/tracking?subject=${encodeURIComponent(S.subject)}&run=1`]]) {
      await visit(p);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 1, `${name}: no horizontal page scroll (${overflow} px)`);
      await shot(name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step("switch to Japanese", async () => {
    await visit("/quarantine?status=any");
    await page.locator("#lang-select").selectOption("ja");
    await page.locator("main h1", { hasText: "隔離メール" }).waitFor();
    await page.locator("nav.side", { hasText: "メッセージ追跡" }).waitFor();
    check((await page.evaluate(() => document.documentElement.lang)) === "ja", "html lang=ja");
    check((await page.evaluate(() => document.cookie)).indexOf("lang") < 0, "the language is not a cookie");
    await page.reload();
    await page.locator("main h1", { hasText: "隔離メール" }).waitFor();
    await shot("quarantine-ja");
    await visit("/dashboard");
    await page.locator("main h1", { hasText: "ダッシュボード" }).waitFor();
    await page.locator("main .loading").waitFor({ state: "detached" }).catch(() => {});
    await shot("dashboard-ja");
    await visit(`/tracking?subject=${encodeURIComponent(S.subject)}&run=1`);
    await page.locator("#track-results tbody tr").first().getByRole("button", { name: /^詳細/ }).click();
    await page.locator("#track-symbols").waitFor();
    await page.locator("#track-details h3", { hasText: "判定の理由" }).waitFor();
    await shot("tracking-ja");
    await page.locator("#lang-select").selectOption("en");
    await page.locator("main h1", { hasText: "Message tracking" }).waitFor();
  });

  await step("tenant A's admin cannot reach tenant B", async () => {
    const results = {};
    for (const [name, p, api] of [
      ["policies", `/t/${S.tenantB}/policies`, `/api/v1/tenants/${S.tenantB}/policies`],
      ["senders", `/t/${S.tenantB}/senders`, `/api/v1/tenants/${S.tenantB}/senders`],
      ["accounts", `/t/${S.tenantB}/accounts`, `/api/v1/tenants/${S.tenantB}/`],
      ["quarantine", `/quarantine?tenant=${S.tenantB}`, "/api/v1/quarantine"],
    ]) {
      const before = apiLog.length;
      await page.goto(`${BASE}${p}`);
      const box = page.locator("main .error-box");
      await box.waitFor();
      const statuses = apiLog.slice(before).filter((r) => r.path.startsWith(api)).map((r) => r.status);
      results[name] = statuses;
      check(statuses.length > 0 && statuses.every((s) => s === 403 || s === 404), `${name}: the API refused (${statuses})`);
      check((await page.locator("main", { hasText: S.betaSubject }).count()) === 0, `${name}: nothing of tenant B shown`);
      if (name === "policies") await shot("tenant-b-refused");
    }
    facts.tenant_b = results;
  });

  await step("an auditor reads but has no change controls", async () => {
    await logout();
    await loggedIn(S.auditor);
    await visit("/quarantine");
    await page.locator("tbody tr", { hasText: S.userSubject }).waitFor();
    check((await page.getByRole("button", { name: /^Release/ }).count()) === 0, "no release buttons");
    check((await page.locator("#bulk-delete").count()) === 0, "no bulk actions");
    await page.locator("tbody tr", { hasText: S.userSubject }).getByRole("button", { name: /^Preview/ }).click();
    await page.locator("#preview-text").waitFor();
    await visit(`/t/${S.tenantA}/senders`);
    check((await page.locator("#sender-form").count()) === 0, "no sender form");
    await visit(`/t/${S.tenantA}/policies`);
    check((await page.getByRole("button", { name: "Save content rules" }).count()) === 0, "no save button");
    check(await page.locator("#rules-text").evaluate((e) => e.readOnly), "the rules are read-only");
    await shot("auditor-policies");
  });

  await step("end user sees only own quarantine", async () => {
    await logout();
    await loggedIn(S.user);
    await page.waitForURL(/\/quarantine$/);
    await page.locator("tbody tr", { hasText: S.userSubject }).waitFor();
    check((await page.locator("tbody tr", { hasText: S.otherSubject }).count()) === 0, "another account's message is not listed");
    const nav = await page.locator("nav.side").innerText();
    for (const hidden of ["Dashboard", "Message tracking", "Policies", "Users", "Audit log", "Domains"])
      check(!nav.includes(hidden), `the end user's menu has no ${hidden}`);
    check(nav.includes("Approved and blocked senders"), "the end user's menu has the senders");
    await shot("enduser-quarantine");
    // the end user releases his own message and approves its sender
    await page.locator("tbody tr", { hasText: S.userSubject }).getByRole("button", { name: /^Release and approve sender/ }).click();
    await page.locator("#status.status-ok", { hasText: "approved sender" }).waitFor();
    await page.locator("tbody tr", { hasText: S.userSubject }).waitFor({ state: "detached" });
    await page.locator("nav.side a", { hasText: "Approved and blocked senders" }).click();
    await page.locator("main h1", { hasText: "Approved and blocked senders" }).waitFor();
    await page.locator("main .loading").waitFor({ state: "detached" }).catch(() => {});
    check((await page.locator(`tr[data-pattern="${S.approve}"]`).count()) === 0, "the tenant-wide entry is not the user's");
    const f = page.locator("#sender-form");
    await f.getByLabel("List").selectOption("block");
    await f.getByLabel("Address or domain").fill(S.userBlock);
    await f.getByRole("button", { name: "Add" }).click();
    await page.locator(`tr[data-pattern="${S.userBlock}"]`, { hasText: "bob@acme.example" }).waitFor();
    await shot("enduser-senders");
    await page.goto(`${BASE}/audit`);
    await page.locator("main .error-box").waitFor();
  });

  await step("TOTP enrolment and the code step at login", async () => {
    await logout();
    await loggedIn(S.totpUser);
    await visit("/settings");
    if (await page.locator("#totp .not-available").count()) {
      facts.totp = "not available";
      await shot("settings-totp");
      return;
    }
    await page.locator("#totp-start").click();
    const secret = (await page.locator("#totp-secret").innerText()).trim();
    const uri = (await page.locator("#totp-uri").innerText()).trim();
    check(/^[A-Z2-7]{16,}=*$/.test(secret), `a base32 secret is shown: ${secret}`);
    check(uri.startsWith("otpauth://totp/") && uri.includes(`secret=${secret}`), `the otpauth URI is shown: ${uri}`);
    await shot("settings-totp");
    const c0 = Math.floor(Date.now() / 1000 / 30);
    await page.locator("#totp").getByLabel("Code").fill(totp(secret, c0));
    await page.locator("#totp").getByRole("button", { name: "Turn on" }).click();
    await page.locator("#status.status-ok", { hasText: "Second factor turned on" }).waitFor();
    await logout();
    await login(S.totpUser);
    await page.locator("#login-error", { hasText: "second factor" }).waitFor();
    const code = page.getByLabel("Authentication code");
    check(await code.isVisible(), "the code field is shown");
    const near = new Set([-1, 0, 1, 2, 3].map((d) => totp(secret, c0 + d)));
    await code.fill(["000000", "111111", "222222", "333333", "444444", "555555"].find((x) => !near.has(x)));
    await page.locator("#login-submit").click();
    await page.locator("#login-error", { hasText: "authentication code is wrong" }).waitFor();
    await shot("login-totp");
    await code.fill(totp(secret, c0 + 1)); // the confirmed step is used: the next one (within +-1)
    await page.locator("#login-submit").click();
    await page.locator("header.top .who").filter({ hasText: S.totpUser }).waitFor();
    facts.totp = "enrolled";
  });

  await step("operator sees all tenants", async () => {
    await logout();
    await loggedIn(S.operator);
    await page.locator("main .loading").waitFor({ state: "detached" }).catch(() => {});
    await shot("operator-dashboard");
    await visit("/quarantine?status=any");
    await page.locator("tbody tr", { hasText: S.betaSubject }).waitFor();
    check((await page.locator("tbody tr", { hasText: S.userSubject }).count()) === 1, "all tenants: tenant A's message too");
    await shot("operator-quarantine");
    await page.locator("#tenant-select").selectOption(S.tenantB);
    await page.waitForURL(new RegExp(`tenant=${S.tenantB}`));
    await page.locator("tbody tr", { hasText: S.betaSubject }).waitFor();
    check((await page.locator("tbody tr", { hasText: S.userSubject }).count()) === 0, "tenant B chosen: not tenant A's message");
    await page.locator("nav.side a", { hasText: "Policies and rules" }).click();
    await page.waitForURL(new RegExp(`/t/${S.tenantB}/policies$`));
    await page.locator("main h1", { hasText: "Policies and rules" }).waitFor();
    check((await page.locator("main .error-box").count()) === 0, "the operator may open tenant B's policies");
    // the worst sources and the operator-wide allow list
    await visit(`/t/${S.tenantA}/connection`);
    const top = page.locator("section", { hasText: "Worst reputation" });
    await top.locator("tbody tr", { hasText: "127.0.0.1" }).first().waitFor();
    await page.locator("section", { hasText: "Operator-wide allow list" }).waitFor();
    await shot("operator-connection");
    // domains and routes are the operator's
    await visit(`/t/${S.tenantA}/domains`);
    await page.getByLabel("Domain", { exact: true }).fill(S.newDomain);
    await page.getByLabel("Routes").fill("127.0.0.1:2526, [::1]:2526");
    await page.getByLabel("TLS to the route").selectOption("none");
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator("#status.status-ok").waitFor();
    await page.locator("tbody tr", { hasText: S.newDomain }).filter({ hasText: "[::1]:2526" }).waitFor();
    await shot("operator-domains");
    // the operator resets a user's second factor
    if (facts.totp === "enrolled") {
      await visit("/users");
      await page.getByRole("button", { name: `Reset second factor: ${S.totpUser}` }).click();
      await page.locator("#status.status-ok", { hasText: "Second factor" }).waitFor();
      facts.totp_reset = true;
    }
  });
} finally {
  facts.console_errors = consoleErrors.filter((e) => !/the server responded with a status of (400|401|403|404)/.test(e));
  await browser.close().catch(() => {});
}

if (facts.console_errors.length) steps.push({ name: "no console errors", ok: false, error: facts.console_errors.join(" | ") });
const ok = steps.length > 0 && steps.every((s) => s.ok);
console.log(JSON.stringify({ ok, steps, screenshots, facts }));
process.exit(ok ? 0 : 1);
