/**
 * The restore and save sub-actions, the outputs each action sets, versions, events without a
 * ref, and a store or binary that fails: a restore that cannot read is a miss, a save that
 * fails is a warning, never a failed job.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import {
  WitCache,
  isSupportedRef,
  parseCacheActionRef,
} from "wit-cache-executor";

import { Host, bin, tempDir } from "./helpers.js";

const job = (...steps: string[]) =>
  `jobs:\n  build:\n    steps:\n      - uses: actions/checkout@v4\n` +
  steps
    .map((s) =>
      s
        .split("\n")
        .map((l) => (l ? `      ${l}` : l))
        .join("\n"),
    )
    .join("");

const makeOut = "- run: mkdir -p out && echo hello > out/f\n";
const step = (uses: string, inputs: Record<string, string>, id = "c") =>
  `- id: ${id}\n  uses: ${uses}\n  with: ${JSON.stringify(inputs)}\n`;

for (const v of ["v4", "v5"]) {
  test(`actions/cache/restore@${v} and actions/cache/save@${v}: outputs and keys`, async () => {
    const host = new Host();
    const restore = `actions/cache/restore@${v}`;
    const save = `actions/cache/save@${v}`;

    // A miss: only cache-primary-key is set.
    const miss = await host.run(
      job(step(restore, { path: "out", key: "Out-1", "restore-keys": "out-" })),
    );
    assert.equal(miss.status, "success");
    assert.deepEqual(miss.cacheStep().outputs, {
      "cache-primary-key": "Out-1",
    });
    assert.deepEqual(miss.posts, [], "the restore sub-action has no post step");

    // The save sub-action saves under its own key, at the step.
    const saved = await host.run(
      job(makeOut, step(save, { path: "out", key: "Out-1" })),
    );
    assert.equal(saved.status, "success");
    assert.deepEqual(saved.cacheStep().outputs, {});
    assert.ok(saved.infos().includes("Cache saved with key: Out-1"));
    assert.deepEqual(
      host.entries().map((e) => [e.key, e.scope]),
      [["Out-1", "main"]],
    );

    // An exact hit, ignoring case as the action compares keys.
    const hit = await host.run(
      job(step(restore, { path: "out", key: "out-1" })),
    );
    assert.deepEqual(hit.cacheStep().outputs, {
      "cache-primary-key": "out-1",
      "cache-matched-key": "Out-1",
      "cache-hit": "true",
    });
    assert.equal(
      fs.readFileSync(path.join(hit.workspace, "out", "f"), "utf8"),
      "hello\n",
    );

    // A restore-key hit.
    const partial = await host.run(
      job(
        step(restore, {
          path: "out",
          key: "out-2",
          "restore-keys": "nothing-\nout-",
        }),
      ),
    );
    assert.deepEqual(partial.cacheStep().outputs, {
      "cache-primary-key": "out-2",
      "cache-matched-key": "Out-1",
      "cache-hit": "false",
    });

    // The main action sets only cache-hit, whatever it finds (and its post step saves out-2).
    const main = await host.run(
      job(
        step(`actions/cache@${v}`, {
          path: "out",
          key: "out-2",
          "restore-keys": "out-",
        }),
      ),
    );
    assert.deepEqual(main.cacheStep().outputs, { "cache-hit": "false" });
    assert.deepEqual(main.posts, [{ ran: true, saved: true }]);

    // restore then save with the same key: the save sub-action has no state, so it tries and
    // finds the key taken. That is a warning, not a failure.
    const both = await host.run(
      job(
        step(restore, { path: "out", key: "Out-1" }, "r"),
        step(
          save,
          { path: "out", key: "${{ steps.r.outputs.cache-primary-key }}" },
          "s",
        ),
      ),
    );
    assert.equal(both.status, "success");
    assert.ok(
      both
        .infos()
        .includes(
          "Failed to save: Unable to reserve cache with key Out-1, another job may be creating this cache.",
        ),
      both.infos().join("\n"),
    );
    assert.ok(both.warnings().includes("Cache save failed."));
    assert.deepEqual(
      host
        .entries()
        .map((e) => e.key)
        .sort(),
      ["Out-1", "out-2"],
    );

    // A save of paths that do not exist warns and saves nothing.
    const empty = await host.run(
      job(step(save, { path: "missing", key: "m-1" })),
    );
    assert.equal(empty.status, "success");
    assert.ok(
      empty.warnings().some((w) => w.includes("missing")),
      empty.warnings().join("\n"),
    );
    assert.ok(empty.warnings().includes("Cache save failed."));
    // A save without a key only warns.
    const nokey = await host.run(job(step(save, { path: "out" })));
    assert.equal(nokey.status, "success");
    assert.deepEqual(nokey.warnings(), ["Key is not specified."]);
  });
}

test("which refs are actions/cache, and which versions run", () => {
  assert.deepEqual(parseCacheActionRef("actions/cache@v4"), {
    kind: "cache",
    ref: "v4",
  });
  assert.deepEqual(parseCacheActionRef("Actions/Cache/restore@v5.0.1"), {
    kind: "restore",
    ref: "v5.0.1",
  });
  assert.deepEqual(parseCacheActionRef("actions/cache/save@v4.3.0"), {
    kind: "save",
    ref: "v4.3.0",
  });
  assert.equal(parseCacheActionRef("actions/cache/Save@v4"), undefined);
  assert.equal(parseCacheActionRef("actions/cache-x@v4"), undefined);
  assert.equal(parseCacheActionRef("actions/cache"), undefined);
  assert.equal(parseCacheActionRef("actions/checkout@v4"), undefined);
  for (const r of [
    "v4",
    "v5",
    "v4.3",
    "v4.3.0",
    "v5.0.4",
    "0123456789abcdef0123456789abcdef01234567",
  ])
    assert.ok(isSupportedRef(r), r);
  for (const r of [
    "v3",
    "v6",
    "main",
    "v4.3.0.1",
    "4",
    "0123456789abcdef0123456789abcdef0123456",
    "0123456789ABCDEF0123456789ABCDEF01234567",
  ]) {
    assert.ok(!isSupportedRef(r), r);
  }
});

test("another major version fails the step and names the ones that run", async () => {
  const host = new Host();
  const run = await host.run(
    job(step("actions/cache@v3", { path: "out", key: "k" })),
  );
  assert.equal(run.status, "failure");
  assert.deepEqual(run.errors(), [
    "'actions/cache@v3': wit runs actions/cache at v4 and v5 (@v4, @v5, @v4.3.0, …, or a commit SHA); 'v3' is not one of them",
  ]);
  assert.deepEqual(run.posts, []);
});

test("an event without a ref: a warning, no outputs, no save (isValidEvent)", async () => {
  const host = new Host();
  const event = { event_name: "repository_dispatch", ref: "" };
  const run = await host.run(
    job(makeOut, step("actions/cache/restore@v4", { path: "out", key: "k" })),
    { event },
  );
  const main = await host.run(
    job(makeOut, step("actions/cache@v4", { path: "out", key: "k" })),
    { event },
  );
  for (const r of [run, main]) {
    assert.equal(r.status, "success");
    assert.deepEqual(r.cacheStep().outputs, {});
  }
  const warning =
    "Event Validation Error: The event type repository_dispatch is not supported because it's not tied to a branch or tag ref.";
  assert.deepEqual(
    main.warnings(),
    [warning, warning],
    "at the restore and at the post step",
  );
  assert.deepEqual(host.entries(), []);
});

test("a tag run writes its own scope and reads the default branch", async () => {
  const host = new Host();
  await host.run(
    job(makeOut, step("actions/cache@v4", { path: "out", key: "t-1" })),
  );
  const tag = await host.run(
    job(
      step("actions/cache@v4", {
        path: "out",
        key: "t-2",
        "restore-keys": "t-",
      }),
    ),
    {
      event: { event_name: "push", ref: "refs/tags/v1.0" },
    },
  );
  assert.deepEqual(tag.cacheStep().outputs, { "cache-hit": "false" });
  assert.deepEqual(
    host
      .entries()
      .map((e) => e.scope)
      .sort(),
    ["main", "tag:v1.0"],
  );
});

test("a save that fails is a warning and the job succeeds", async () => {
  const host = new Host();
  // The store disappears under the job between its restore and its post-job save (it is moved
  // into a temp directory of the test, which goes when the tests end).
  const storeFile = path.join(tempDir("gone"), "store");
  const workflow = job(
    makeOut,
    step("actions/cache@v4", { path: "out", key: "k-1" }),
    `- run: mv "${host.store}" "${storeFile}" && touch "${host.store}"\n`,
  );
  const run = await host.run(workflow);
  assert.equal(run.status, "success", JSON.stringify(run.steps));
  assert.deepEqual(run.posts, [{ ran: true, saved: false }]);
  assert.ok(
    run
      .warnings()
      .some(
        (w) =>
          w.startsWith("Failed to save: wit-cache save: cache dir") &&
          w.includes("is not a directory"),
      ),
    run.warnings().join("\n"),
  );
  assert.deepEqual(run.errors(), []);

  // The save sub-action, with a binary that is not there.
  const missing = (home: string) =>
    new WitCache({
      bin: path.join(tempDir("nobin"), "wit-cache"),
      env: { ...process.env, HOME: home },
    });
  const save = await host.run(
    job(makeOut, step("actions/cache/save@v5", { path: "out", key: "k-2" })),
    { cache: missing },
  );
  assert.equal(save.status, "success");
  assert.ok(
    save.warnings().some((w) => w.startsWith("Failed to save: cannot run ")),
    save.warnings().join("\n"),
  );
  assert.ok(save.warnings().includes("Cache save failed."));
});

test("a binary that cannot run makes the restore a miss with a warning", async () => {
  const host = new Host();
  const missing = (home: string) =>
    new WitCache({
      bin: path.join(tempDir("nobin"), "wit-cache"),
      env: { ...process.env, HOME: home },
    });
  const run = await host.run(
    job(step("actions/cache/restore@v4", { path: "out", key: "k" })),
    { cache: missing },
  );
  assert.equal(run.status, "success");
  assert.deepEqual(run.cacheStep().outputs, { "cache-primary-key": "k" });
  assert.ok(
    run.warnings().some((w) => w.startsWith("Failed to restore: cannot run ")),
    run.warnings().join("\n"),
  );
  assert.ok(run.infos().includes("Cache not found for input keys: k"));
});

test("continue-on-error after a failed restore: the post step still runs and saves the primary key", async () => {
  const host = new Host();
  // The restore fails (11 keys); the step may fail; the job goes on and succeeds.
  const keys = Array.from({ length: 10 }, (_, i) => `r${i}`).join("\n");
  const workflow = job(
    `- id: c\n  continue-on-error: true\n  uses: actions/cache@v4\n  with: ${JSON.stringify({ path: "out", key: "coe-1", "restore-keys": keys })}\n`,
    makeOut,
  );
  const run = await host.run(workflow);
  assert.equal(run.status, "success");
  assert.equal(run.cacheStep().conclusion, "failure");
  assert.deepEqual(run.posts, [{ ran: true, saved: true }]);
  assert.deepEqual(
    host.entries().map((e) => e.key),
    ["coe-1"],
  );
});

test("the binary never writes the job's GITHUB_OUTPUT behind the module's back", async () => {
  const host = new Host();
  const outputFile = path.join(tempDir("gh-output"), "output");
  const withOutput = (home: string) =>
    new WitCache({
      bin,
      cacheDir: host.store,
      env: { ...process.env, HOME: home, GITHUB_OUTPUT: outputFile },
    });
  await host.run(
    job(makeOut, step("actions/cache@v4", { path: "out", key: "o-1" })),
    { cache: withOutput },
  );
  const hit = await host.run(
    job(step("actions/cache@v4", { path: "out", key: "o-1" })),
    { cache: withOutput },
  );
  assert.deepEqual(hit.cacheStep().outputs, { "cache-hit": "true" });
  assert.ok(
    !fs.existsSync(outputFile),
    "the main action has no cache-primary-key output",
  );
});
