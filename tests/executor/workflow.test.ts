/**
 * The README's example workflow played end to end: YAML → the module → the real binary and a
 * real `npm ci` of a one-package project, job after job on one host's store.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import {
  Host,
  EXAMPLE_WORKFLOW,
  app,
  appNext,
  hashOfOneFile,
  installedVersion,
  pullRequest,
  push,
  withUses,
} from "./helpers.js";

const key = (dir: string) =>
  `npm-Linux-${hashOfOneFile(path.join(dir, "package-lock.json"))}`;
/** `npm ci` with npm's network switched off: it succeeds only when `~/.npm` was restored. */
const OFFLINE = { npm_config_offline: "true" };

for (const version of ["v4", "v5"]) {
  test(`example workflow at actions/cache@${version}: miss and save, exact hit, restore-key hit`, async () => {
    const host = new Host();
    const workflow = withUses(EXAMPLE_WORKFLOW, `actions/cache@${version}`);

    // First run: nothing cached. `cache-hit` is unset; npm ci downloads; the post step saves.
    const first = await host.run(workflow);
    assert.equal(first.status, "success", JSON.stringify(first.steps, null, 1));
    assert.deepEqual(first.cacheStep().outputs, {});
    assert.ok(
      first
        .infos()
        .includes(`Cache not found for input keys: ${key(app)}, npm-Linux-`),
      first.infos().join("\n"),
    );
    assert.equal(installedVersion(first.workspace, "ms"), "2.1.3");
    assert.ok(
      first.steps
        .find((s) => s.name === "npm run build")
        ?.output?.includes("172800000"),
    );
    assert.deepEqual(first.posts, [{ ran: true, saved: true }]);
    assert.ok(first.infos().includes(`Cache saved with key: ${key(app)}`));
    const saved = host.entries();
    assert.equal(saved.length, 1);
    assert.equal(saved[0]?.key, key(app));
    assert.equal(saved[0]?.scope, "main");
    assert.deepEqual(saved[0]?.paths, ["node_modules", "~/.npm"]);
    assert.equal(saved[0]?.created_by_run, "1");

    // Second run on a fresh machine: an exact hit; npm ci works offline from the restored
    // ~/.npm; the post step does not save.
    const second = await host.run(workflow, { env: OFFLINE });
    assert.equal(
      second.status,
      "success",
      JSON.stringify(second.steps, null, 1),
    );
    assert.deepEqual(second.cacheStep().outputs, { "cache-hit": "true" });
    assert.ok(
      fs.existsSync(path.join(second.home, ".npm")),
      "~/.npm was restored",
    );
    assert.equal(installedVersion(second.workspace, "ms"), "2.1.3");
    assert.deepEqual(second.posts, [{ ran: true, saved: false }]);
    assert.ok(
      second
        .infos()
        .includes(
          `Cache hit occurred on the primary key ${key(app)}, not saving cache.`,
        ),
    );
    assert.equal(host.entries().length, 1);

    // Third run after a dependency update: the key misses, the restore key brings the old
    // entry back (`cache-hit` false), npm ci updates it, and the new key is saved.
    const third = await host.run(workflow, { checkout: appNext });
    assert.equal(third.status, "success", JSON.stringify(third.steps, null, 1));
    assert.notEqual(key(appNext), key(app));
    assert.deepEqual(third.cacheStep().outputs, { "cache-hit": "false" });
    assert.ok(third.infos().includes(`Cache restored from key: ${key(app)}`));
    assert.equal(installedVersion(third.workspace, "ms"), "2.1.2");
    assert.deepEqual(third.posts, [{ ran: true, saved: true }]);
    assert.deepEqual(
      host
        .entries()
        .map((e) => e.key)
        .sort(),
      [key(app), key(appNext)].sort(),
    );

    const stats = host.stats();
    assert.deepEqual([stats.hits, stats.partial_hits, stats.misses], [1, 1, 1]);
  });
}

test("a failed job saves nothing: post-if success()", async () => {
  const host = new Host();
  const failing = `${EXAMPLE_WORKFLOW}      - run: exit 3\n`;
  const run = await host.run(failing);
  assert.equal(run.status, "failure");
  assert.equal(
    installedVersion(run.workspace, "ms"),
    "2.1.3",
    "the steps before the failure ran",
  );
  assert.deepEqual(run.posts, [{ ran: false, saved: false }]);
  assert.deepEqual(host.entries(), []);

  // A step that fails before the cache step: the cache step is skipped, no hook is registered.
  const early = EXAMPLE_WORKFLOW.replace(
    "      - name: Cache node modules",
    "      - run: exit 1\n      - name: Cache node modules",
  );
  const skipped = await host.run(early);
  assert.deepEqual(skipped.posts, []);
  assert.deepEqual(host.entries(), []);
});

test("fail-on-cache-miss fails the step and the job, and then nothing is saved", async () => {
  const host = new Host();
  const workflow = EXAMPLE_WORKFLOW.replace(
    "          restore-keys: |",
    "          fail-on-cache-miss: true\n          restore-keys: |",
  );
  const run = await host.run(workflow);
  assert.equal(run.status, "failure");
  assert.equal(run.cacheStep().conclusion, "failure");
  assert.deepEqual(run.cacheStep().outputs, {});
  assert.deepEqual(run.errors(), [
    `Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${key(app)}`,
  ]);
  assert.ok(
    run.steps.filter((s) => s.name.startsWith("npm")).every((s) => s.skipped),
  );
  assert.deepEqual(run.posts, [{ ran: false, saved: false }]);
  assert.deepEqual(host.entries(), []);
});

test("a pull request reads main's cache, writes its own scope, and main never sees it", async () => {
  const host = new Host();
  await host.run(EXAMPLE_WORKFLOW);
  assert.deepEqual(
    host.entries().map((e) => e.scope),
    ["main"],
  );

  // The pull request updates the dependency: its key misses, main's entry comes back through
  // the restore key, and the save goes to the pull request's own scope.
  const pr = await host.run(EXAMPLE_WORKFLOW, {
    event: pullRequest(7, "main"),
    checkout: appNext,
  });
  assert.equal(pr.status, "success");
  assert.deepEqual(pr.cacheStep().outputs, { "cache-hit": "false" });
  assert.deepEqual(pr.posts, [{ ran: true, saved: true }]);
  const scopes = host.entries().map((e) => [e.scope, e.key]);
  assert.deepEqual(
    scopes.sort(),
    [
      ["main", key(app)],
      ["pr:7", key(appNext)],
    ].sort(),
  );

  // A second run of the same pull request hits its own entry exactly.
  const again = await host.run(EXAMPLE_WORKFLOW, {
    event: pullRequest(7, "main"),
    checkout: appNext,
    env: OFFLINE,
  });
  assert.deepEqual(again.cacheStep().outputs, { "cache-hit": "true" });

  // main with the same lockfile does not see the pull request's entry: a restore-key hit on
  // its own old entry, and its own save.
  const main = await host.run(EXAMPLE_WORKFLOW, { checkout: appNext });
  assert.deepEqual(main.cacheStep().outputs, { "cache-hit": "false" });
  assert.ok(main.infos().includes(`Cache restored from key: ${key(app)}`));
  assert.deepEqual(main.posts, [{ ran: true, saved: true }]);

  // Another pull request does not see pull request 7's entry either (it gets main's new one).
  const other = await host.run(EXAMPLE_WORKFLOW, {
    event: pullRequest(8, "main"),
    checkout: appNext,
    env: OFFLINE,
  });
  assert.deepEqual(other.cacheStep().outputs, { "cache-hit": "true" });
  assert.equal(
    host.entries().filter((e) => e.scope === "pr:8").length,
    0,
    "an exact hit saves nothing",
  );
});

test("a pull request into a feature branch reads it before the default branch", async () => {
  const host = new Host();
  await host.run(EXAMPLE_WORKFLOW);
  await host.run(EXAMPLE_WORKFLOW, {
    event: push("release"),
    checkout: appNext,
  });
  assert.deepEqual(
    host
      .entries()
      .map((e) => e.scope)
      .sort(),
    ["main", "release"],
    "a push to a branch that misses reads main and writes its own branch",
  );
  const pr = await host.run(EXAMPLE_WORKFLOW, {
    event: pullRequest(9, "release"),
    checkout: appNext,
    env: OFFLINE,
  });
  assert.deepEqual(
    pr.cacheStep().outputs,
    { "cache-hit": "true" },
    "the base branch's exact entry",
  );
});

for (const trigger of [
  {
    name: "pull_request_target",
    event: { event_name: "pull_request_target", ref: "refs/heads/main" },
  },
  {
    name: "issue_comment",
    event: { event_name: "issue_comment", ref: "refs/heads/main" },
  },
  {
    name: "workflow_run of a fork",
    event: {
      event_name: "workflow_run",
      ref: "refs/heads/main",
      event: {
        workflow_run: { head_repository: { full_name: "mallory/app" } },
      },
    },
  },
]) {
  test(`${trigger.name} restores read-only and saves nothing`, async () => {
    const host = new Host();
    await host.run(EXAMPLE_WORKFLOW);
    const before = host.stats();

    // An exact hit is restored (read-only: the store records nothing, not even the hit).
    const hit = await host.run(EXAMPLE_WORKFLOW, {
      event: trigger.event,
      env: OFFLINE,
    });
    assert.equal(hit.status, "success", JSON.stringify(hit.steps, null, 1));
    assert.deepEqual(hit.cacheStep().outputs, { "cache-hit": "true" });
    assert.equal(installedVersion(hit.workspace, "ms"), "2.1.3");
    assert.deepEqual(
      host.stats(),
      before,
      "a read-only restore records no statistics",
    );

    // A miss: restored through the restore key, and the post step refuses to save.
    const miss = await host.run(EXAMPLE_WORKFLOW, {
      event: trigger.event,
      checkout: appNext,
    });
    assert.deepEqual(miss.cacheStep().outputs, { "cache-hit": "false" });
    assert.deepEqual(miss.posts, [{ ran: true, saved: false }]);
    assert.ok(
      miss.warnings().some((w) => w.startsWith("Cache not saved:")),
      miss.warnings().join("\n"),
    );
    assert.deepEqual(
      host.entries().map((e) => e.key),
      [key(app)],
    );

    // The save sub-action refuses too.
    const save = await host.run(
      `jobs:\n  build:\n    steps:\n      - uses: actions/checkout@v4\n      - run: mkdir -p out && echo x > out/f\n` +
        `      - uses: actions/cache/save@v5\n        with:\n          path: out\n          key: out-1\n`,
      { event: trigger.event },
    );
    assert.equal(save.status, "success");
    assert.deepEqual(
      host.entries().map((e) => e.key),
      [key(app)],
    );
  });
}

test("workflow_run of the repository's own workflow is trusted", async () => {
  const host = new Host();
  const event = {
    event_name: "workflow_run",
    ref: "refs/heads/main",
    event: { workflow_run: { head_repository: { full_name: "ACME/app" } } },
  };
  const run = await host.run(EXAMPLE_WORKFLOW, { event });
  assert.deepEqual(run.posts, [{ ran: true, saved: true }]);
  assert.deepEqual(
    host.entries().map((e) => e.scope),
    ["main"],
  );
});
