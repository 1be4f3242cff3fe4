/**
 * Inputs as the actions read them (trimming, multi-line lists, `!` paths, booleans, names in any
 * case), the runner's warnings about inputs, and `${{ … }}` with `hashFiles()` computed by the
 * real binary.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import {
  ExpressionError,
  WitCache,
  evaluateTemplate,
  evaluationScope,
  splitTemplate,
  type ExecutionContext,
} from "wit-cache-executor";

import { Host, app, bin, hashOfOneFile, tempDir } from "./helpers.js";

/** A job with a checkout, `run` lines, and one step given as YAML lines under `steps:`. */
const job = (run: string, stepYaml: string) =>
  `jobs:\n  build:\n    steps:\n      - uses: actions/checkout@v4\n` +
  (run ? `      - run: ${run}\n` : "") +
  stepYaml
    .split("\n")
    .map((l) => (l ? `      ${l}` : l))
    .join("\n");

test("a `key: >` folded scalar's trailing newline is trimmed, as core.getInput does", async () => {
  const host = new Host();
  const step = `- id: c\n  uses: actions/cache@v5\n  with:\n    path: |\n      out\n    key: >\n      out-\${{ runner.os }}\n`;
  const run = await host.run(job("mkdir -p out && echo 1 > out/f", step));
  assert.equal(run.status, "success", run.errors().join("\n"));
  assert.deepEqual(run.posts, [{ ran: true, saved: true }]);
  assert.deepEqual(
    host.entries().map((e) => [e.key, e.paths]),
    [["out-Linux", ["out"]]],
  );

  // `|+` keeps every trailing newline in YAML; the input still has none.
  const kept = `- id: c\n  uses: actions/cache/restore@v4\n  with:\n    path: "  out  \\n\\n"\n    key: |+\n      out-Linux\n\n\n`;
  const again = await host.run(job("", kept));
  assert.deepEqual(again.cacheStep().outputs, {
    "cache-primary-key": "out-Linux",
    "cache-matched-key": "out-Linux",
    "cache-hit": "true",
  });
  assert.ok(fs.existsSync(path.join(again.workspace, "out", "f")));
});

test("path and restore-keys lines: trimmed, empty ones dropped, `!  x` read as `!x`, CRLF", async () => {
  const host = new Host();
  const step = `- uses: actions/cache@v4\n  with:\n    path: |\n      out\n\n        \n      !  out/skip\n    key: lines-1\n`;
  const run = await host.run(
    job("mkdir -p out/skip && echo 1 > out/keep && echo 2 > out/skip/f", step),
  );
  assert.equal(run.status, "success", run.errors().join("\n"));
  assert.deepEqual(
    host.entries().map((e) => e.paths),
    [["out", "!out/skip"]],
  );

  // The same lines with CRLF endings and a first line indented: the same entry (same version).
  const crlf = {
    uses: "actions/cache/restore@v5",
    with: {
      path: "  out\r\n\r\n!   out/skip\r\n",
      key: " lines-2 ",
      "restore-keys": "\r\n  lines-\r\n\r\n",
    },
  };
  const restore = await host.run(
    job(
      "",
      `- id: r\n  uses: actions/cache/restore@v5\n  with:\n    path: ${JSON.stringify(crlf.with.path)}\n    key: ${JSON.stringify(crlf.with.key)}\n    restore-keys: ${JSON.stringify(crlf.with["restore-keys"])}\n`,
    ),
  );
  assert.deepEqual(restore.cacheStep().outputs, {
    "cache-primary-key": "lines-2",
    "cache-matched-key": "lines-1",
    "cache-hit": "false",
  });
  assert.ok(fs.existsSync(path.join(restore.workspace, "out", "keep")));
  assert.ok(
    !fs.existsSync(path.join(restore.workspace, "out", "skip")),
    "the exclusion held",
  );
});

test("a newline inside a key fails the restore as a key validation error", async () => {
  const host = new Host();
  const step = `- uses: actions/cache/restore@v4\n  with:\n    path: out\n    key: |\n      npm-a\n      npm-b\n`;
  const run = await host.run(job("", step));
  assert.equal(run.status, "failure");
  assert.deepEqual(
    run.cacheStep().outputs,
    { "cache-primary-key": "npm-a\nnpm-b" },
    "set before the check, as the action does",
  );
  assert.equal(run.errors().length, 1);
  assert.match(
    run.errors()[0] ?? "",
    /^Key Validation Error: "npm-a\\nnpm-b" cannot contain control characters/,
  );

  // The save sub-action reports it as a warning and goes on.
  const save = await host.run(
    job("mkdir out", step.replace("cache/restore@v4", "cache/save@v4")),
  );
  assert.equal(save.status, "success");
  assert.ok(
    save.warnings().some((w) => w.startsWith("Key Validation Error")),
    save.warnings().join("\n"),
  );
  assert.ok(save.warnings().includes("Cache save failed."));
  assert.deepEqual(host.entries(), []);
});

test("key rules of @actions/cache fail the restore step with its messages", async () => {
  const host = new Host();
  const cases: [Record<string, unknown>, string][] = [
    [
      { path: "out", key: "a,b" },
      "Key Validation Error: a,b cannot contain commas.",
    ],
    [
      { path: "out", key: "k".repeat(513) },
      `Key Validation Error: ${"k".repeat(513)} cannot be larger than 512 characters.`,
    ],
    [
      {
        path: "out",
        key: "k",
        "restore-keys": Array.from({ length: 10 }, (_, i) => `r${i}`).join(
          "\n",
        ),
      },
      "Key Validation Error: Keys are limited to a maximum of 10.",
    ],
    [{ path: "out" }, "Input required and not supplied: key"],
    [{ key: "k" }, "Input required and not supplied: path"],
    [
      { key: "k", path: "  \n " },
      "Path Validation Error: At least one directory or file path is required",
    ],
  ];
  for (const [inputs, error] of cases) {
    const step = `- uses: actions/cache@v4\n  with: ${JSON.stringify(inputs)}\n`;
    const run = await host.run(job("", step));
    assert.equal(run.status, "failure", JSON.stringify(inputs));
    assert.deepEqual(run.errors(), [error], JSON.stringify(inputs));
  }
  // 512 characters and 10 keys are allowed.
  const ok = await host.run(
    job(
      "",
      `- uses: actions/cache/restore@v4\n  with: ${JSON.stringify({ path: "out", key: "k".repeat(512), "restore-keys": "a\nb\nc\nd\ne\nf\ng\nh\ni" })}\n`,
    ),
  );
  assert.equal(ok.status, "success", ok.errors().join("\n"));
});

test("input names in any case; booleans as the action reads them; unknown and deprecated inputs warn", async () => {
  const host = new Host();
  await host.run(
    job(
      "mkdir -p out && echo 1 > out/f",
      `- uses: actions/cache/save@v4\n  with:\n    PATH: out\n    Key: case-1\n`,
    ),
  );
  assert.deepEqual(
    host.entries().map((e) => e.key),
    ["case-1"],
  );

  // lookup-only: "TRUE" is true: the entry is found, nothing is extracted.
  const step =
    `- uses: actions/cache@v4\n  with:\n    path: out\n    key: case-1\n    lookup-only: " TRUE "\n` +
    `    upload-chunk-size: 1024\n    enableCrossOsArchive: true\n    save-always: true\n    colour: blue\n`;
  const run = await host.run(job("", step));
  assert.deepEqual(run.cacheStep().outputs, { "cache-hit": "true" });
  assert.ok(
    !fs.existsSync(path.join(run.workspace, "out")),
    "lookup-only extracts nothing",
  );
  assert.ok(
    run.infos().includes("Cache found and can be restored from key: case-1"),
  );
  assert.deepEqual(run.warnings(), [
    "Input 'save-always' has been deprecated with message: save-always does not work as intended and will be removed in a future release.\n" +
      "A separate `actions/cache/restore` step should be used instead.\n" +
      "See https://github.com/actions/cache/tree/main/save#always-save-cache for more details.\n",
    "Unexpected input(s) 'colour', valid inputs are ['path', 'key', 'restore-keys', 'upload-chunk-size', 'enableCrossOsArchive', 'fail-on-cache-miss', 'lookup-only', 'save-always']",
  ]);

  // "yes" is not true: a real restore.
  const real = await host.run(
    job(
      "",
      `- uses: actions/cache@v4\n  with:\n    path: out\n    key: case-1\n    lookup-only: yes\n`,
    ),
  );
  assert.ok(fs.existsSync(path.join(real.workspace, "out", "f")));
  // The sub-actions have fewer inputs: save has no restore-keys.
  const save = await host.run(
    job(
      "",
      `- uses: actions/cache/save@v5\n  with:\n    path: out\n    key: k\n    restore-keys: a\n`,
    ),
  );
  assert.deepEqual(
    save.warnings().filter((w) => w.startsWith("Unexpected")),
    [
      "Unexpected input(s) 'restore-keys', valid inputs are ['path', 'key', 'upload-chunk-size', 'enableCrossOsArchive']",
    ],
  );
});

/** A context for evaluating templates directly, with the real binary for hashFiles(). */
function evalContext(workspace: string): {
  context: ExecutionContext;
  cache: WitCache;
} {
  const context: ExecutionContext = {
    repoId: "acme/app",
    runId: "1",
    workspace,
    postJobHooks: [],
    jobStatus: "success",
    github: {
      event_name: "push",
      ref: "refs/heads/main",
      repository: "acme/app",
      ref_name: "main",
    },
    contexts: {
      env: { NODE_VERSION: "20" },
      matrix: { node: 22, os: "ubuntu", list: ["a", "b"] },
      steps: { "my-step": { outputs: { "cache-hit": "true" } } },
    },
  };
  return { context, cache: new WitCache({ bin }) };
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest();

test("hashFiles(): several arguments, several calls, commas inside an argument, options", async () => {
  const ws = tempDir("hash");
  fs.cpSync(app, ws, { recursive: true });
  fs.mkdirSync(path.join(ws, "real"));
  fs.writeFileSync(path.join(ws, "real", "x.lock"), "x");
  fs.symlinkSync("real", path.join(ws, "linked"));
  const { context, cache } = evalContext(ws);
  const scope = evaluationScope(context, cache);
  const ev = (t: string) => evaluateTemplate(t, scope);

  const lock = path.join(ws, "package-lock.json");
  const pkg = path.join(ws, "package.json");
  const both = createHash("sha256")
    .update(sha256(fs.readFileSync(lock)))
    .update(sha256(fs.readFileSync(pkg)))
    .digest("hex");
  assert.equal(
    await ev("${{ hashFiles('package-lock.json', 'package.json') }}"),
    both,
  );
  assert.equal(
    await ev(
      "npm-${{ runner.os }}-${{ hashFiles('package-lock.json') }}-${{ hashFiles('package.json') }}",
    ),
    `npm-Linux-${hashOfOneFile(lock)}-${hashOfOneFile(pkg)}`,
  );
  // One argument with a comma is one pattern (no file is called that): the empty hash.
  assert.equal(
    await ev("k-${{ hashFiles('package-lock.json, package.json') }}"),
    "k-",
  );
  assert.equal(
    await ev("${{ hashFiles('*.json', '!package.json') }}"),
    hashOfOneFile(lock),
  );
  // Arguments are expressions too.
  assert.equal(
    await ev("${{ hashFiles(format('{0}.json', 'package')) }}"),
    hashOfOneFile(pkg),
  );

  // --follow-symbolic-links is an option only as the first argument, in any case.
  assert.equal(await ev("${{ hashFiles('linked/*.lock') }}"), "");
  const viaLink = hashOfOneFile(path.join(ws, "real", "x.lock"));
  assert.equal(
    await ev("${{ hashFiles('--follow-symbolic-links', 'linked/*.lock') }}"),
    viaLink,
  );
  assert.equal(
    await ev("${{ hashFiles('--Follow-Symbolic-Links', 'linked/*.lock') }}"),
    viaLink,
  );
  assert.equal(
    await ev("${{ hashFiles('linked/*.lock', '--follow-symbolic-links') }}"),
    "",
  );
  await assert.rejects(
    ev("${{ hashFiles('--follow', 'x') }}"),
    /Invalid glob option --follow, avaliable option: '--follow-symbolic-links'/,
  );
  // A pattern the runner refuses fails the expression, naming the patterns and the workspace.
  await assert.rejects(
    ev("${{ hashFiles('../it''s') }}"),
    (e: Error) =>
      e instanceof ExpressionError &&
      e.message.startsWith(
        `hashFiles('../it''s') failed. Fail to hash files under directory '${ws}'`,
      ),
  );
  // A short-circuit does not run the hashFiles() it skips (it would fail).
  assert.equal(await ev("${{ false && hashFiles('../x') }}"), "false");
  assert.equal(await ev("${{ 'given' || hashFiles('../x') }}"), "given");
});

test("a hashFiles() that fails fails the step; in the post step the key comes from the state", async () => {
  const host = new Host();
  const bad = await host.run(
    job(
      "",
      `- uses: actions/cache@v4\n  with:\n    path: out\n    key: k-\${{ hashFiles('../x') }}\n`,
    ),
  );
  assert.equal(bad.status, "failure");
  assert.match(
    bad.errors()[0] ?? "",
    /^The template is not valid: input 'key': hashFiles\('\.\.\/x'\) failed/,
  );
  assert.deepEqual(bad.posts, [{ ran: false, saved: false }]);

  // The lockfile changes after the restore: the post step saves under the key the restore
  // computed, not a new one.
  const step = `- uses: actions/cache@v4\n  with:\n    path: node_modules\n    key: npm-\${{ hashFiles('package-lock.json') }}\n`;
  const run = await host.run(
    `${job("", step)}      - run: mkdir -p node_modules/x && echo '{}' > package-lock.json\n`,
  );
  assert.equal(run.status, "success");
  assert.deepEqual(
    host.entries().map((e) => e.key),
    [`npm-${hashOfOneFile(path.join(app, "package-lock.json"))}`],
  );
});

test("${{ }} templates: contexts, operators, functions, quoting, errors", async () => {
  const { context, cache } = evalContext(tempDir("expr"));
  const scope = evaluationScope(context, cache);
  const ev = (t: string) => evaluateTemplate(t, scope);
  const cases: [string, string][] = [
    [
      "${{ runner.os }}-${{ runner.arch }}",
      `Linux-${process.arch === "arm64" ? "ARM64" : "X64"}`,
    ],
    ["${{ RUNNER.OS }}", "Linux"],
    ["${{ github.ref_name }}/${{ github.workspace != '' }}", "main/true"],
    ["node-${{ matrix.node }}-${{ env.NODE_VERSION }}", "node-22-20"],
    [
      "${{ matrix['os'] }}${{ matrix.list[1] }}${{ matrix.missing }}",
      "ubuntub",
    ],
    ["${{ steps.my-step.outputs.cache-hit }}", "true"],
    ["${{ steps.my-step.outputs.cache-hit != 'true' }}", "false"],
    ["${{ matrix.missing || 'default' }}", "default"],
    ["${{ matrix.node && 'yes' }}", "yes"],
    ["${{ format('{0}-{{x}}-{1}', runner.os, 1.5) }}", "Linux-{x}-1.5"],
    ["${{ join(matrix.list, '+') }} ${{ join(matrix.list) }}", "a+b a,b"],
    [
      "${{ contains(matrix.list, 'B') }} ${{ startsWith('Npm-x', 'npm') }} ${{ endsWith('a.LOCK', '.lock') }}",
      "true true true",
    ],
    [
      "${{ 'A' == 'a' }} ${{ 1 == '1' }} ${{ null == 0 }} ${{ '' == 0 }} ${{ 'x' == 0 }}",
      "true true true true false",
    ],
    [
      "${{ 2 > 10 }} ${{ '2' < '10' }} ${{ !matrix.missing }} ${{ 0x10 }}",
      "false false true 16",
    ],
    [
      "${{ fromJSON('{\"a\":[1,2]}').a[0] }} ${{ toJSON(matrix.list) }}",
      '1 [\n  "a",\n  "b"\n]',
    ],
    ["x${{ matrix.*.missing }}", "xArray"],
    ["${{ '}}' }} and ${{ 'it''s' }}", "}} and it's"],
    ["plain text, no expression", "plain text, no expression"],
    ["${{ null }}${{ true }}", "true"],
  ];
  for (const [t, want] of cases) assert.equal(await ev(t), want, t);

  const errors: [string, RegExp][] = [
    ["${{ runner.os", /The expression is not closed/],
    ["${{ }}", /An expression was expected/],
    ["${{ nothing.here }}", /Unrecognized named-value: 'nothing'/],
    ["${{ frobnicate(1) }}", /Unrecognized function: 'frobnicate'/],
    [
      "${{ format('{1}', 'a') }}",
      /references more arguments than were supplied/,
    ],
    ["${{ runner }}", /is an object, where a string was expected/],
    ["${{ matrix.list }}", /is an array, where a string was expected/],
    ["${{ 'unclosed }}", /The expression is not closed/],
    ["${{ 1 + 1 }}", /Unexpected symbol: '\+'/],
    ["${{ contains('a') }}", /takes 2 arguments, not 1/],
  ];
  for (const [t, want] of errors) await assert.rejects(ev(t), want, t);

  assert.deepEqual(splitTemplate("a${{ 'x}}y' }}b${{ c }}"), [
    "a",
    { expression: "'x}}y'" },
    "b",
    { expression: "c" },
  ]);
});
