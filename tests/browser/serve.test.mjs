// The cache settings page of `wit-cache serve`, in real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core): a temp store seeded with the real CLI, the real
// server on a free port, and a person's path through the page — read the stats, unlock with the
// admin token, delete an entry, clear all, use a repository token — checking that the page
// updates without a reload.
//
//   WIT_CACHE_BIN=target/debug/wit-cache node --test tests/browser/
//
// Screenshots go to tests/artifacts/ (gitignored).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const BIN = path.resolve(root, process.env.WIT_CACHE_BIN || "target/debug/wit-cache");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(root, "tests/artifacts");
const TOKEN = "browser-test-" + randomBytes(8).toString("hex");
const XSS_KEY = "<img src=x onerror=alert(1)>";
const HOUR = 3600;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wit-cache-browser-"));
const env = {
  PATH: process.env.PATH,
  HOME: path.join(tmp, "home"),
  WIT_CACHE_DIR: path.join(tmp, "store"),
  WIT_REPO: "acme/app",
};
const ws = path.join(tmp, "ws");
const servers = [];
let browser;

/** Runs the CLI in the workspace; `at` is a fake "now" in Unix seconds. */
function cli(args, at) {
  const extra = at ? { WIT_CACHE_NOW: String(at) } : {};
  return execFileSync(BIN, args, { cwd: ws, env: { ...env, ...extra }, encoding: "utf8" });
}

/** Starts `wit-cache serve` on a free port and resolves to its URL (read from stderr). */
function serve(extraArgs, extraEnv = {}) {
  const child = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", ...extraArgs], {
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "ignore", "pipe"],
  });
  servers.push(child);
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start: " + stderr)), 20000);
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const m = /Serving (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, stderr: () => stderr });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}): ${stderr}`));
    });
  });
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

process.on("exit", () => servers.forEach((s) => s.kill("SIGKILL")));

async function newPage(url, viewport = { width: 1100, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("dialog", (d) => {
    problems.push("unexpected JS dialog: " + d.message());
    d.dismiss();
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    // Chromium logs every 4xx answer; the ones the tests provoke (a wrong token) are expected.
    const expected = /Failed to load resource: .* status of 40[34]/.test(m.text());
    if (m.type() === "error" && !expected) problems.push("console error: " + m.text());
  });
  await page.goto(url);
  return { page, problems, context };
}

const text = (page, selector) => page.locator(selector).innerText();
const keysOn = (page) => page.locator(".cache-item .cache-key").allInnerTexts();

before(async () => {
  assert.ok(fs.existsSync(BIN), `${BIN} is missing: run cargo build first`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  fs.mkdirSync(env.HOME, { recursive: true });
  fs.mkdirSync(path.join(ws, "node_modules/left-pad"), { recursive: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // Incompressible bytes, so that sizes are not all a few hundred bytes.
  fs.writeFileSync(path.join(ws, "node_modules/left-pad/index.js"), randomBytes(300 * 1024));
  fs.mkdirSync(path.join(ws, "venv"), { recursive: true });
  fs.writeFileSync(path.join(ws, "venv/lib.py"), randomBytes(40 * 1024));

  // Saved and used three hours ago, on the store's fake clock.
  const then = Math.floor(Date.now() / 1000) - 3 * HOUR;
  cli(["save", "--key", "npm-Linux-3f2a9c", "--path", "node_modules"], then - HOUR);
  cli(["save", "--key", "pip-Linux-77ab01", "--path", "venv"], then - 2 * HOUR);
  cli(["save", "--key", "cargo-Linux-e41d", "--path", "venv", "--scope", "main"], then);
  cli(["save", "--key", XSS_KEY, "--path", "venv"], then);
  for (let i = 0; i < 2; i++) {
    cli(["restore", "--key", "npm-Linux-3f2a9c", "--path", "node_modules"], then);
  }
  cli(["restore", "--key", "npm-Linux-000000", "--path", "nothing-here"], then);
  cli(["save", "--repo", "acme/other", "--key", "go-mod-1", "--path", "venv"], then);

  const tokenFile = path.join(tmp, "admin-token");
  fs.writeFileSync(tokenFile, TOKEN + "\n", { mode: 0o600 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  if (browser) await browser.close();
  await Promise.all(servers.map(stop));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("wit-cache serve, with an admin token", () => {
  let server;
  before(async () => {
    server = await serve(["--admin-token-file", path.join(tmp, "admin-token")]);
  });

  it("lists the repos with their sizes and hit rates, linking to each repo's page", async () => {
    const { page, problems, context } = await newPage(server.url + "/");
    assert.equal(await page.title(), "Dependency caches · wit-cache");
    const repos = await page.locator(".repo-link").allInnerTexts();
    assert.deepEqual(repos, ["acme/app", "acme/other"]);
    const meta = await page.locator(".item", { hasText: "acme/app" }).locator(".meta").innerText();
    assert.match(meta, /4 caches/);
    assert.match(meta, /67 % hit rate/);
    await page.screenshot({ path: path.join(ARTIFACTS, "serve-overview.png"), fullPage: true, animations: "disabled" });
    await page.getByRole("link", { name: "acme/app" }).click();
    await page.waitForURL(/\/repo\?repo=acme%2Fapp$/);
    assert.equal(await text(page, "#stat-count"), "4");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("shows the stats and the caches read-only, and escapes keys", async () => {
    const { page, problems, context } = await newPage(server.url + "/repo?repo=acme%2Fapp");
    assert.equal(await text(page, "#stat-count"), "4");
    assert.equal(await text(page, "#stat-rate"), "67 %");
    assert.equal(await text(page, "#stat-rate-sub"), "2 of 3 restores hit");
    assert.match(await text(page, "#stat-size"), /KiB$/);
    const keys = await keysOn(page);
    assert.equal(keys.length, 4);
    assert.ok(keys.includes(XSS_KEY), "the hostile key is shown as text: " + keys);
    assert.equal(await page.locator("img").count(), 0, "no markup was injected");
    const npm = page.locator(".cache-item", { hasText: "npm-Linux-3f2a9c" });
    assert.match(await npm.locator(".meta").innerText(), /Used 2 times/);
    assert.match(await npm.locator(".meta").innerText(), /Last used 3 hours ago/);
    const scoped = page.locator(".cache-item", { hasText: "cargo-Linux-e41d" });
    assert.equal(await scoped.locator(".m-scope").innerText(), "main");
    assert.equal(await scoped.locator(".cache-key").evaluate((e) => getComputedStyle(e).fontFamily.includes("monospace")), true);

    // Read-only: the buttons say why they do nothing, and nothing is deleted.
    const del = npm.getByRole("button", { name: "Delete cache npm-Linux-3f2a9c" });
    assert.equal(await del.getAttribute("aria-disabled"), "true");
    assert.equal(await page.locator("#clear-all").getAttribute("aria-disabled"), "true");
    // aria-disabled keeps them focusable: a keyboard user can reach one and hear why.
    await del.focus();
    await page.keyboard.press("Enter");
    await page.locator(".toast", { hasText: "enter the admin token" }).waitFor();
    assert.equal((await keysOn(page)).length, 4);
    await page.screenshot({ path: path.join(ARTIFACTS, "serve-repo-page.png"), fullPage: true, animations: "disabled" });
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("refuses a wrong token and asks again", async () => {
    const { page, problems, context } = await newPage(server.url + "/repo?repo=acme%2Fapp");
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.keyboard.press("Enter");
    await page.locator("#unlocked").waitFor();
    await page.getByRole("button", { name: "Delete cache pip-Linux-77ab01" }).click();
    await page.locator(".toast-error", { hasText: "the admin token is wrong" }).waitFor();
    await page.locator("#token-form").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "the wrong token is forgotten");
    assert.equal((await keysOn(page)).length, 4);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("deletes an entry and clears all with the token, updating without a reload", async () => {
    const { page, problems, context } = await newPage(server.url + "/repo?repo=acme%2Fapp");
    await page.evaluate(() => (window.__sameDocument = true));

    // The token is typed once and kept for the tab, also across reloads.
    await page.getByLabel("Admin token").fill(TOKEN);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.locator("#unlocked").waitFor();
    await page.reload();
    await page.locator("#unlocked").waitFor();
    await page.evaluate(() => (window.__sameDocument = true));

    // Delete one entry with the keyboard.
    const del = page.getByRole("button", { name: "Delete cache npm-Linux-3f2a9c" });
    assert.equal(await del.getAttribute("aria-disabled"), null);
    await del.focus();
    await page.keyboard.press("Enter");
    await page.locator(".toast-success", { hasText: "Cache deleted" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll(".cache-item").length === 3);
    assert.equal(await text(page, "#stat-count"), "3");
    assert.ok(!(await keysOn(page)).includes("npm-Linux-3f2a9c"));
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "no full reload");
    await page.screenshot({ path: path.join(ARTIFACTS, "serve-repo-page-admin.png"), fullPage: true, animations: "disabled" });

    // Clear all asks first; cancelling keeps everything.
    await page.getByRole("button", { name: "Clear All" }).click();
    const dialog = page.getByRole("dialog", { name: "Clear all caches?" });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /all 3 caches of acme\/app/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await keysOn(page)).length, 3);

    await page.getByRole("button", { name: "Clear All" }).click();
    await dialog.getByRole("button", { name: "Clear all caches" }).click();
    await page.locator(".toast-success", { hasText: "Cleared 3 caches" }).waitFor();
    await page.locator("#empty", { hasText: "No caches yet" }).waitFor();
    assert.equal(await text(page, "#stat-count"), "0");
    assert.equal(await text(page, "#stat-size"), "0 B");
    assert.equal(await page.locator("#clear-all").isDisabled(), true);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "no full reload");

    // The store agrees: the CLI sees no entry of acme/app, and the other repo is untouched.
    const listed = (repo) =>
      JSON.parse(cli(["--json", "--repo", repo, "list"])).caches.map((c) => c.key);
    assert.deepEqual(listed("acme/app"), []);
    assert.deepEqual(listed("acme/other"), ["go-mod-1"]);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("is usable at phone width", async () => {
    const { page, problems, context } = await newPage(server.url + "/repo?repo=acme%2Fother", {
      width: 390,
      height: 844,
    });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    assert.equal(await page.getByRole("button", { name: "Clear All" }).isVisible(), true);
    assert.equal(await page.getByLabel("Admin token").isVisible(), true);
    await page.screenshot({ path: path.join(ARTIFACTS, "serve-repo-page-phone.png"), fullPage: true, animations: "disabled" });
    assert.deepEqual(problems, []);
    await context.close();
  });
});

describe("wit-cache serve, without an admin token", () => {
  it("says that deleting is turned off", async () => {
    const server = await serve([], { WIT_CACHE_ADMIN_TOKEN: "" });
    assert.match(server.stderr(), /no admin token/);
    const { page, problems, context } = await newPage(server.url + "/repo?repo=acme%2Fother");
    assert.match(await text(page, "#readonly-hint"), /Deleting is turned off/);
    assert.equal(await page.getByLabel("Admin token").count(), 0);
    await page.getByRole("button", { name: "Delete cache go-mod-1" }).focus();
    await page.keyboard.press("Enter");
    await page.locator(".toast", { hasText: "started without an admin token" }).waitFor();
    assert.equal((await keysOn(page)).length, 1);
    assert.deepEqual(problems, []);
    await context.close();
    await stop(server.child);
  });
});

describe("wit-cache serve, with repository tokens only", () => {
  const REPO_TOKEN = "widgets-bot-" + randomBytes(8).toString("hex");
  let server;
  before(async () => {
    const then = Math.floor(Date.now() / 1000) - HOUR;
    cli(["save", "--repo", "widgets/ui", "--key", "ui-node-modules-1", "--path", "venv"], then);
    const tokensFile = path.join(tmp, "tokens");
    const digest = createHash("sha256").update(REPO_TOKEN).digest("hex");
    fs.writeFileSync(tokensFile, `# the widgets CI bot\nwidgets/* ${digest}\n`, { mode: 0o600 });
    server = await serve(["--tokens-file", tokensFile], { WIT_CACHE_ADMIN_TOKEN: "" });
  });
  after(() => stop(server.child));

  it("deletes with a repository token in its repo and refuses it in another, keeping it", async () => {
    assert.doesNotMatch(server.stderr(), /no admin token/);
    const { page, problems, context } = await newPage(server.url + "/repo?repo=widgets%2Fui");
    assert.match(await text(page, "#readonly-hint"), /a token for this repository/);
    await page.getByLabel("Admin token").fill(REPO_TOKEN);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.locator("#unlocked").waitFor();
    await page.getByRole("button", { name: "Delete cache ui-node-modules-1" }).click();
    await page.locator(".toast-success", { hasText: "Cache deleted" }).waitFor();
    await page.locator("#empty", { hasText: "No caches yet" }).waitFor();

    // The same tab on another repo's page: still unlocked, but this token is not for it.
    await page.goto(server.url + "/repo?repo=acme%2Fother");
    await page.locator("#unlocked").waitFor();
    await page.getByRole("button", { name: "Delete cache go-mod-1" }).click();
    const toast = page.locator(".toast-error", { hasText: "may not delete caches of repo 'acme/other'" });
    await toast.waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, "serve-repo-token-refused.png"), fullPage: true, animations: "disabled" });
    assert.deepEqual(await keysOn(page), ["go-mod-1"]);
    assert.equal(await page.locator("#unlocked").isVisible(), true, "the token stays for its own repo");
    assert.equal(await page.evaluate(() => sessionStorage.length), 1);

    // The store agrees: widgets/ui lost its entry, acme/other kept its own.
    const listed = (repo) =>
      JSON.parse(cli(["--json", "--repo", repo, "list"])).caches.map((c) => c.key);
    assert.deepEqual(listed("widgets/ui"), []);
    assert.deepEqual(listed("acme/other"), ["go-mod-1"]);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
