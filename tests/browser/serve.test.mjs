// The cache settings page of `wit-cache serve`, in real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core): a temp store seeded with the real CLI, the real
// server on a free port, and a person's path through the page — read the stats, unlock with the
// admin token, delete an entry after its confirmation, clear all, use a repository token, filter,
// sort and page through thousands of entries, read an entry's details and the restore chart —
// checking that the page updates without a reload and never scrolls sideways from 320 px up.
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
  return execFileSync(BIN, args, { cwd: ws, env: { ...env, ...extra }, encoding: "utf8", maxBuffer: 1 << 28 });
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

/** Confirms the open "Delete this cache?" dialog. */
async function confirmDelete(page) {
  const dialog = page.getByRole("dialog", { name: "Delete this cache?" });
  await dialog.waitFor();
  await dialog.getByRole("button", { name: "Delete cache" }).click();
}

/** The entries of a repo as the CLI lists them: [key, scope] pairs. */
function listed(repo) {
  return JSON.parse(cli(["--json", "--repo", repo, "list"])).caches.map((c) => [c.key, c.scope]);
}

/**
 * Asserts that the page fits its viewport: nothing scrolls sideways, every delete button is
 * wholly on screen, and no number spills out of its box into a neighbour's.
 */
async function assertFits(page, what) {
  const r = await page.evaluate(() => {
    const vw = window.innerWidth;
    const out = { scroll: document.documentElement.scrollWidth, vw, off: [], spills: [], overlaps: [], buttons: 0 };
    for (const b of document.querySelectorAll(".btn-delete, #clear-all, #refresh, .pager .btn")) {
      const rc = b.getBoundingClientRect();
      if (b.classList.contains("btn-delete")) out.buttons += 1;
      if (rc.left < 0 || rc.right > vw) {
        out.off.push((b.getAttribute("aria-label") || b.textContent).slice(0, 50) + ` at ${rc.left}..${rc.right}`);
      }
    }
    const textBox = (el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      return range.getBoundingClientRect();
    };
    for (const group of document.querySelectorAll(".stats, .figures")) {
      const values = Array.from(group.querySelectorAll(".stat-value, .figure-value, .stat-sub, .figure-sub"));
      for (const v of values) {
        const own = v.getBoundingClientRect();
        const t = textBox(v);
        if (t.right > own.right + 1 || t.left < own.left - 1) out.spills.push(v.textContent);
      }
      for (let i = 0; i < values.length; i++) {
        for (let j = i + 1; j < values.length; j++) {
          const a = textBox(values[i]);
          const b = textBox(values[j]);
          const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
          if (!apart) out.overlaps.push(values[i].textContent + " / " + values[j].textContent);
        }
      }
    }
    return out;
  });
  assert.ok(r.scroll <= r.vw, `${what}: the page scrolls sideways to ${r.scroll}px at ${r.vw}px`);
  assert.deepEqual(r.off, [], `${what}: buttons off screen`);
  assert.deepEqual(r.spills, [], `${what}: numbers spill out of their boxes`);
  assert.deepEqual(r.overlaps, [], `${what}: numbers overlap`);
  return r;
}

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
    await page.getByRole("dialog", { name: "Delete this cache?" }).getByRole("button", { name: "Delete cache" }).click();
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

    // Delete one entry with the keyboard: it asks first, naming the entry.
    const del = page.getByRole("button", { name: "Delete cache npm-Linux-3f2a9c" });
    assert.equal(await del.getAttribute("aria-disabled"), null);
    await del.focus();
    await page.keyboard.press("Enter");
    const ask = page.getByRole("dialog", { name: "Delete this cache?" });
    await ask.waitFor();
    assert.match(await ask.innerText(), /npm-Linux-3f2a9c/);
    await page.keyboard.press("Tab");
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
    assert.match(await dialog.innerText(), /all 3 caches of acme\/app, not only the ones shown/);
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
    await confirmDelete(page);
    await page.locator(".toast-success", { hasText: "Cache deleted" }).waitFor();
    await page.locator("#empty", { hasText: "No caches yet" }).waitFor();

    // The same tab on another repo's page: still unlocked, but this token is not for it.
    await page.goto(server.url + "/repo?repo=acme%2Fother");
    await page.locator("#unlocked").waitFor();
    await page.getByRole("button", { name: "Delete cache go-mod-1" }).click();
    await confirmDelete(page);
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

// ---- a real repo: thousands of entries, long and hostile names, a key in two scopes ----------

const BULK_REPO = "acme/big";
const BULK = 5000;
// Names at their limits: a 255-character repo id, a 500-character key, markup, quotes and a
// right-to-left override (keys may hold anything but control characters and commas).
const LONG_REPO = "an-organisation-with-a-long-name/" + "a-repository-name-that-goes-on".repeat(7) + "-end";
const LONG_KEY = "node-modules-" + "0123456789abcdef".repeat(30) + "-" + "z".repeat(7);
const QUOTE_KEY = `"quoted" 'single' <script>alert("x")</script>`;
const RLO_KEY = "invoice-\u202Egpj.exe";
const LONG_SCOPE = "refs/heads/feature/" + "a-branch-with-a-long-name-".repeat(9);

describe("wit-cache serve, a repo with thousands of entries", () => {
  let server;
  before(async () => {
    const then = Math.floor(Date.now() / 1000) - 2 * HOUR;
    // One real entry of ~150 KiB with 1,201 files, saved by the CLI…
    const deps = path.join(ws, "big-deps");
    fs.mkdirSync(deps, { recursive: true });
    fs.writeFileSync(path.join(deps, "blob.bin"), randomBytes(150 * 1024));
    for (let i = 0; i < 1200; i++) fs.writeFileSync(path.join(deps, `f${i}.js`), `module.exports = ${i};\n`);
    cli(["save", "--repo", BULK_REPO, "--key", "npm-big-0", "--path", "big-deps", "--run-id", "4711"], then);
    // …and 5,000 copies of it made in SQL with hard-linked archives (bulk_entries.py says why
    // and how), created a minute apart, so that 5,000 real saves need not run.
    execFileSync("python3", [path.join(here, "bulk_entries.py"), env.WIT_CACHE_DIR, BULK_REPO, "npm-big-0", String(BULK), "bulk"]);
    // A few real entries that differ: a smaller one, and one restored three times.
    cli(["save", "--repo", BULK_REPO, "--key", "pip-small-1", "--path", "venv"], then + 60);
    for (let i = 0; i < 3; i++) cli(["restore", "--repo", BULK_REPO, "--key", "pip-small-1", "--path", "venv"], then + 120);

    // Hostile and long names, and one key in two scopes.
    for (const [key, scope] of [
      [LONG_KEY, LONG_SCOPE],
      [QUOTE_KEY, null],
      [RLO_KEY, null],
      ["npm-two-scopes", null],
      ["npm-two-scopes", "main"],
    ]) {
      cli(["save", "--repo", LONG_REPO, "--key", key, "--path", "venv", ...(scope ? ["--scope", scope] : [])], then);
    }
    server = await serve(["--admin-token-file", path.join(tmp, "admin-token")]);
  });
  after(() => stop(server.child));

  const bigUrl = () => server.url + "/repo?repo=" + encodeURIComponent(BULK_REPO);
  const longUrl = () => server.url + "/repo?repo=" + encodeURIComponent(LONG_REPO);

  async function unlock(page) {
    await page.getByLabel("Admin token").fill(TOKEN);
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.locator("#unlocked").waitFor();
  }

  it("never scrolls sideways and keeps every delete button on screen, from 320 px up", async () => {
    for (const width of [320, 390, 1280]) {
      const { page, problems, context } = await newPage(bigUrl(), { width, height: 800 });
      await unlock(page);
      const big = await assertFits(page, `${BULK_REPO} at ${width}px`);
      assert.equal(big.buttons, 50, "one page of 50 rows");
      assert.equal(await text(page, "#stat-count"), (BULK + 2).toLocaleString("en-US"));
      await page.screenshot({ path: path.join(ARTIFACTS, `serve-big-${width}.png`), animations: "disabled" });

      // The overview, with the long repo id among the repos.
      await page.goto(server.url + "/");
      assert.ok((await page.locator(".repo-link").allInnerTexts()).includes(LONG_REPO));
      await assertFits(page, `the overview at ${width}px`);

      await page.goto(longUrl());
      await page.locator("#unlocked").waitFor();
      // Every row's details open: the longest text of the page.
      for (const summary of await page.locator(".entry-detail summary").all()) await summary.click();
      await assertFits(page, `the long names at ${width}px`);
      await page.screenshot({ path: path.join(ARTIFACTS, `serve-long-names-${width}.png`), fullPage: true, animations: "disabled" });

      // The confirmation of the longest key fits too.
      const row = page.locator(".cache-item", { hasText: "node-modules-0123" });
      await row.locator(".btn-delete").click();
      const dialog = page.getByRole("dialog", { name: "Delete this cache?" });
      await dialog.waitFor();
      const box = await dialog.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= width, `the dialog fits at ${width}px: ${JSON.stringify(box)}`);
      await assertFits(page, `the open dialog at ${width}px`);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  it("shows hostile names as text, with direction overrides visible", async () => {
    const { page, problems, context } = await newPage(longUrl());
    assert.equal(await page.locator("main script, main img, main b, main i").count(), 0, "no markup was injected");
    const keys = await keysOn(page);
    assert.ok(keys.includes(QUOTE_KEY), keys.join("\n"));
    assert.ok(keys.includes(LONG_KEY), "the 500-character key is whole in the page");
    assert.ok(keys.includes("invoice-[U+202E]gpj.exe"), "the override is shown, not obeyed: " + keys);
    assert.match(await text(page, "h1"), /an-organisation-with-a-long-name\/a-repository/);
    // The key is isolated: its direction cannot reorder the text after it.
    const isolated = await page
      .locator(".cache-item", { hasText: "invoice-" })
      .locator(".cache-key bdi")
      .evaluate((e) => getComputedStyle(e).unicodeBidi);
    assert.equal(isolated, "isolate");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("asks before deleting one entry, naming it, and deletes only that scope's entry", async () => {
    const { page, problems, context } = await newPage(longUrl(), { width: 390, height: 844 });
    await unlock(page);
    await page.evaluate(() => (window.__sameDocument = true));
    const rows = page.locator(".cache-item", { hasText: "npm-two-scopes" });
    assert.equal(await rows.count(), 2, "a row per entry: the key in two scopes");
    const scoped = rows.filter({ has: page.locator(".m-scope") });
    const size = await scoped.locator(".m-size").innerText();
    await scoped.getByRole("button", { name: "Delete cache npm-two-scopes (scope main)" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this cache?" });
    await dialog.waitFor();
    assert.equal(await text(page, "#delete-key"), "npm-two-scopes");
    assert.equal(await text(page, "#delete-scope"), "main");
    assert.equal(await text(page, "#delete-size"), size);
    assert.match(size, /^\d+(\.\d\d)? KiB archive$/);
    await page.screenshot({ path: path.join(ARTIFACTS, "serve-confirm-delete-phone.png"), animations: "disabled" });

    // Cancel keeps it; confirming deletes that entry only.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    assert.equal(await rows.count(), 2);
    await scoped.locator(".btn-delete").click();
    await confirmDelete(page);
    await page.locator(".toast-success", { hasText: "Cache deleted: npm-two-scopes (scope main)" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll(".cache-item").length === 4);
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.locator(".m-scope").count(), 0, "the unscoped entry stays");
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "no full reload");
    const left = listed(LONG_REPO).filter(([k]) => k === "npm-two-scopes");
    assert.deepEqual(left, [["npm-two-scopes", null]], "the store agrees");

    // The override key's confirmation shows the mark too.
    await page.locator(".cache-item", { hasText: "invoice-" }).locator(".btn-delete").click();
    await page.getByRole("dialog", { name: "Delete this cache?" }).waitFor();
    assert.equal(await text(page, "#delete-key"), "invoice-[U+202E]gpj.exe");
    assert.equal(await text(page, "#delete-scope"), "none (saved without a scope)");
    await page.keyboard.press("Escape");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("pages through 5,000 entries 50 at a time, filters by key and sorts", async () => {
    const { page, problems, context } = await newPage(bigUrl());
    const total = BULK + 2;
    assert.equal(await page.locator(".cache-item").count(), 50, "the page never renders every row");
    assert.equal(await text(page, "#list-count"), `1–50 of ${total.toLocaleString("en-US")} caches`);
    assert.match(await text(page, ".pager"), new RegExp(`Page 1 of ${Math.ceil(total / 50)}`));
    // Last used first, as the API orders them.
    const api = async (query) => {
      const r = await fetch(server.url + "/api/v1/caches?" + new URLSearchParams({ repo: BULK_REPO, ...query }));
      return (await r.json()).caches.map((c) => c.key);
    };
    assert.deepEqual(await keysOn(page), await api({ limit: 50 }));
    await page.getByRole("link", { name: "Next →" }).click();
    await page.waitForURL(/page=2/);
    assert.deepEqual(await keysOn(page), await api({ limit: 50, offset: 50 }));
    assert.equal(await text(page, "#list-count"), `51–100 of ${total.toLocaleString("en-US")} caches`);

    // The last page holds the rest.
    const last = Math.ceil(total / 50);
    await page.goto(bigUrl() + "&page=" + last);
    assert.equal(await page.locator(".cache-item").count(), total - (last - 1) * 50);
    assert.equal(await page.locator(".pager a", { hasText: "Next" }).count(), 0);

    // Filter by key (case-insensitive, a substring), from page 1.
    await page.getByLabel("Filter by key").fill("BULK-0420");
    await page.keyboard.press("Enter");
    await page.waitForURL(/contains=BULK-0420/);
    assert.deepEqual(
      (await keysOn(page)).sort(),
      Array.from({ length: 10 }, (_, i) => "bulk-0420" + i),
    );
    assert.equal(await text(page, "#list-count"), "10 caches with a key containing “BULK-0420”");
    assert.equal(await page.locator(".pager").count(), 0);
    await page.getByLabel("Filter by key").fill("no-such-key");
    await page.keyboard.press("Enter");
    await page.locator("#empty", { hasText: "No cache key contains “no-such-key”" }).waitFor();

    // Sort: choosing applies it at once.
    await page.getByLabel("Filter by key").fill("");
    await page.getByLabel("Sort by").selectOption("hits");
    await page.waitForURL(/sort=hits/);
    assert.equal((await keysOn(page))[0], "pip-small-1", "restored three times, more than any copy");
    assert.deepEqual(await keysOn(page), await api({ limit: 50, sort: "hits" }));
    await page.getByLabel("Sort by").selectOption("size");
    await page.waitForURL(/sort=size/);
    assert.deepEqual(await keysOn(page), await api({ limit: 50, sort: "size" }));
    assert.equal((await keysOn(page)).includes("pip-small-1"), false, "the smallest is not on page 1");
    await page.getByLabel("Sort by").selectOption("created");
    await page.waitForURL(/sort=created/);
    assert.equal((await keysOn(page))[0], "pip-small-1", "the newest");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("deletes a row of page 2 and shows the next one in its place", async () => {
    const { page, problems, context } = await newPage(bigUrl() + "&sort=created&page=2");
    await unlock(page);
    const before = await keysOn(page);
    const victim = before[0];
    await page.locator(".cache-item").first().locator(".btn-delete").click();
    await confirmDelete(page);
    await page.locator(".toast-success", { hasText: "Cache deleted: " + victim }).waitFor();
    await page.waitForFunction((k) => !Array.from(document.querySelectorAll(".cache-key")).some((e) => e.textContent === k), victim);
    const after = await keysOn(page);
    assert.equal(after.length, 50);
    assert.deepEqual(after.slice(0, 49), before.slice(1), "the rest moved up by one");
    assert.equal(await text(page, "#stat-count"), (BULK + 1).toLocaleString("en-US"));
    assert.equal(listed(BULK_REPO).length, BULK + 1, "exactly one entry is gone");
    assert.ok(!listed(BULK_REPO).some(([k]) => k === victim));
    // The keyboard stays in the list: on the delete button of the row now first.
    assert.equal(await page.evaluate(() => document.activeElement.closest(".cache-item") !== null), true);

    // The only row of the last page: once it is gone, the page before is shown, and the
    // address says so.
    const pages = Math.ceil((BULK + 1) / 50);
    assert.equal((BULK + 1) % 50, 1, "the last page holds one row");
    await page.goto(bigUrl() + "&sort=created&page=" + pages);
    assert.equal(await page.locator(".cache-item").count(), 1);
    await page.locator(".cache-item .btn-delete").click();
    await confirmDelete(page);
    await page.waitForFunction((p) => location.search.endsWith("page=" + p), pages - 1);
    assert.equal(await page.locator(".cache-item").count(), 50);
    assert.match(await text(page, ".pager"), new RegExp(`Page ${pages - 1} of ${pages - 1}`));
    assert.equal(listed(BULK_REPO).length, BULK);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("shows an entry's details, with the numbers the CLI shows", async () => {
    const { page, problems, context } = await newPage(bigUrl() + "&contains=npm-big-0");
    const row = page.locator(".cache-item", { hasText: "npm-big-0" });
    const entry = JSON.parse(cli(["--json", "--repo", BULK_REPO, "list", "--prefix", "npm-big-0"])).caches[0];
    await row.getByText("Details").click();
    const detail = {};
    for (const item of await row.locator(".detail-list > div").all()) {
      detail[await item.locator("dt").innerText()] = await item.locator("dd").innerText();
    }
    assert.equal(detail.Key, "npm-big-0");
    assert.equal(detail.Scope, "none (saved without a scope)");
    assert.equal(detail.Version, entry.version);
    assert.equal(detail.Paths, "big-deps");
    assert.equal(detail.Files, "1,201 files");
    const kib = (n) => (n / 1024).toFixed(2) + " KiB";
    assert.equal(detail.Size, `${kib(entry.size_bytes)} archive (zstd), ${kib(entry.unpacked_bytes)} unpacked`);
    assert.equal(await row.locator(".m-size").innerText(), `${kib(entry.size_bytes)} archive`, "the row and its details agree");
    assert.equal(detail["Created by run"], "4711");
    assert.equal(detail.Restores, "0");
    assert.equal(detail["Last used"], "never restored");
    assert.equal(detail.ID, String(entry.id));
    assert.match(detail.Created, new RegExp("^" + entry.created_at + " \\(2 hours ago\\)$"));
    await row.screenshot({ path: path.join(ARTIFACTS, "serve-entry-detail.png"), animations: "disabled" });

    // One restored entry: its count and last use.
    await page.goto(bigUrl() + "&contains=pip-small");
    const pip = page.locator(".cache-item", { hasText: "pip-small-1" });
    await pip.getByText("Details").click();
    assert.equal(await pip.locator(".detail-list > div", { hasText: "Restores" }).locator("dd").innerText(), "3");
    assert.equal(await pip.locator(".detail-list > div", { hasText: "Files" }).locator("dd").innerText(), "1 file");
    assert.match(await pip.locator(".meta").innerText(), /Used 3 times/);
    assert.deepEqual(problems, []);
    await context.close();
  });
});

// ---- the restore chart, the misses and what the cache is worth -------------------------------

describe("wit-cache serve, restores over 30 days", () => {
  const REPO = "acme/chart";
  const DAY = 86400;
  // Noon UTC, so that "a day ago" is always the day before.
  const NOW = Math.floor(Date.UTC(2026, 2, 15, 12) / 1000);
  const iso = (t) => new Date(t * 1000).toISOString().slice(0, 10);
  let server;
  before(async () => {
    const run = (args, at) => cli(["--repo", REPO, ...args], at);
    fs.mkdirSync(path.join(ws, "chart-deps"), { recursive: true });
    fs.writeFileSync(path.join(ws, "chart-deps/x.txt"), "x");
    run(["save", "--key", "chart-key", "--path", "chart-deps"], NOW - 40 * DAY);
    run(["save", "--key", "scoped-key", "--path", "chart-deps", "--scope", "main"], NOW - 40 * DAY);
    // Today: 3 hits, 1 through `wit-cache run` (which measures the command after it), and a
    // miss with other path lines (a version miss).
    for (let i = 0; i < 3; i++) run(["restore", "--key", "chart-key", "--path", "chart-deps"], NOW - 60);
    run(["run", "--key", "chart-key", "--path", "chart-deps", "--", "sleep", "0.2"], NOW - 30);
    run(["restore", "--key", "chart-key", "--path", "other-deps"], NOW - 20);
    // Two days ago a restore-key hit; three days ago a key that is only in another scope.
    run(["restore", "--key", "chart-zzz", "--restore-key", "chart-", "--path", "chart-deps"], NOW - 2 * DAY);
    run(["restore", "--key", "scoped-key", "--path", "chart-deps"], NOW - 3 * DAY);
    // 29 days ago two misses of keys never saved; 31 days ago, outside the chart, five hits.
    for (let i = 0; i < 2; i++) run(["restore", "--key", "never-" + i, "--path", "chart-deps"], NOW - 29 * DAY);
    for (let i = 0; i < 5; i++) run(["restore", "--key", "chart-key", "--path", "chart-deps"], NOW - 31 * DAY);
    server = await serve([], { WIT_CACHE_NOW: String(NOW), WIT_CACHE_ADMIN_TOKEN: "" });
  });
  after(() => stop(server.child));

  it("draws a bar per day, as high as its restores", async () => {
    const { page, problems, context } = await newPage(server.url + "/repo?repo=" + encodeURIComponent(REPO));
    const days = await page.locator("#restore-chart g.day").evaluateAll((gs) =>
      gs.map((g) => ({
        day: g.dataset.day,
        bars: Array.from(g.querySelectorAll("rect:not(.bar-slot)")).map((r) => [r.getAttribute("class"), Number(r.getAttribute("height")), Number(r.getAttribute("y"))]),
        px: Array.from(g.querySelectorAll("rect:not(.bar-slot)")).map((r) => r.getBoundingClientRect().height),
        title: g.querySelector("title").textContent,
      })),
    );
    assert.equal(days.length, 30);
    assert.equal(days[29].day, iso(NOW), "the last bar is today");
    assert.equal(days[0].day, iso(NOW - 29 * DAY));
    // The busiest day (today: 4 hits, 1 miss) is full height, 100 units; the others scale.
    const want = {
      [iso(NOW)]: [["bar-hit", 80, 20], ["bar-miss", 20, 0]],
      [iso(NOW - 2 * DAY)]: [["bar-partial", 20, 80]],
      [iso(NOW - 3 * DAY)]: [["bar-miss", 20, 80]],
      [iso(NOW - 29 * DAY)]: [["bar-miss", 40, 60]],
    };
    for (const d of days) {
      assert.deepEqual(d.bars, want[d.day] || [], d.day);
    }
    const today = days[29];
    assert.equal(today.title, `${iso(NOW)}: 4 hits, 0 restore-key hits, 1 miss`);
    // As drawn: the hits bar is four times the misses bar.
    assert.ok(Math.abs(today.px[0] / today.px[1] - 4) < 0.05, JSON.stringify(today.px));
    assert.equal(await text(page, "#restores-total"), "9 restores: 4 hits, 1 restore-key hit, 4 misses");
    await page.locator("#restores").screenshot({ path: path.join(ARTIFACTS, "serve-restore-chart.png"), animations: "disabled" });
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("says why restores missed last week, and what the cache was worth", async () => {
    const { page, problems, context } = await newPage(server.url + "/repo?repo=" + encodeURIComponent(REPO), { width: 390, height: 844 });
    assert.equal(await text(page, "#miss-summary"), "2 misses last week: 1 scope, 1 version");
    assert.match(await text(page, "#misses"), /1 version\s+the restore's path lines differ/);
    assert.match(await text(page, "#misses"), /1 scope\s+the key was saved in a scope the restore did not search/);

    const stats = await (await fetch(server.url + "/api/v1/stats?since=30d&repo=" + encodeURIComponent(REPO))).json();
    const r = stats.repos[0];
    const size = (n) => (n < 1024 ? n + " B" : (n / 1024).toFixed(2) + " KiB");
    const ms = (n) => (n < 1000 ? n + " ms" : (n / 1000).toFixed(1) + " s");
    const figure = (id) => text(page, `#${id} .figure-value`);
    assert.equal(await figure("worth-restored"), size(r.bytes_restored));
    assert.match(await text(page, "#worth-restored"), /by 5 restores/);
    assert.equal(await figure("worth-never"), "1 entry", "scoped-key was never restored");
    assert.equal(await figure("worth-evicted"), "0 entries");
    assert.ok(r.command_ms >= 200, "run measured its command: " + r.command_ms);
    assert.equal(await figure("worth-time"), ms(r.measured_restore_ms));
    assert.match(await text(page, "#worth-time"), new RegExp(`vs ${ms(r.command_ms).replace(".", "\\.")} for the jobs' commands`));
    assert.match(await text(page, "#evicted-note"), /size limit \(10 GiB\) is too small/);
    await assertFits(page, "the chart and figures at 390px");
    await page.screenshot({ path: path.join(ARTIFACTS, "serve-worth-phone.png"), fullPage: true, animations: "disabled" });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
