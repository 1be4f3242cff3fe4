/**
 * CacheService, the settings routers' calls, on a real store: entries saved and restored by the
 * binary at chosen times (WIT_CACHE_NOW), then listed, counted, deleted and cleared.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { CacheService, WitCache, WitCacheError } from "wit-cache-executor";

import { bin, tempDir } from "./helpers.js";

// An hour ago: recent enough that every statistic counts it.
const T0 = Math.floor(Date.now() / 1000) - 3600;

/** A store with entries made by the binary, each call at its own fake time. */
function fixture() {
  const store = tempDir("svc-store");
  const ws = tempDir("svc-ws");
  fs.mkdirSync(path.join(ws, "out"));
  fs.writeFileSync(path.join(ws, "out", "f"), "x".repeat(1000));
  const at = (t: number) =>
    new WitCache({
      bin,
      cacheDir: store,
      env: { ...process.env, WIT_CACHE_NOW: String(T0 + t) },
    });
  const common = { workspace: ws, paths: ["out"] };
  return { store, ws, at, common };
}

test("listCaches, getCacheStats, deleteCache and clearCaches on a real store", async () => {
  const { store, at, common } = fixture();
  const service = new CacheService({ bin, cacheDir: store });

  // An empty repo: nothing, zeros, "not found".
  assert.deepEqual(await service.listCaches("acme/app"), []);
  assert.deepEqual(await service.getCacheStats("acme/app"), {
    totalSize: 0,
    cacheCount: 0,
    hitRate: 0,
    hits: 0,
    partialHits: 0,
    misses: 0,
    bytesRestored: 0,
    restoreMs: 0,
    topKeys: [],
  });
  assert.equal(await service.deleteCache("acme/app", "nope"), false);
  assert.deepEqual(await service.clearCaches("acme/app"), {
    deleted: 0,
    freedBytes: 0,
  });

  await at(0).save({
    ...common,
    repo: "acme/app",
    key: "npm-a",
    scope: "main",
    runId: "41",
  });
  await at(10).save({
    ...common,
    repo: "acme/app",
    key: "npm-b",
    scope: "main",
  });
  await at(20).save({
    ...common,
    repo: "acme/app",
    key: "NPM-A",
    scope: "pr:3",
  });
  await at(30).save({
    ...common,
    repo: "acme/other",
    key: "npm-a",
    scope: "main",
  });
  const restore = {
    ...common,
    restoreKeys: [] as string[],
    scope: "main",
    fallbackScopes: [] as string[],
  };
  await at(100).restore({ ...restore, repo: "acme/app", key: "npm-a" }); // exact
  await at(110).restore({
    ...restore,
    repo: "acme/app",
    key: "npm-c",
    restoreKeys: ["npm-b"],
  }); // restore key
  await at(120).restore({ ...restore, repo: "acme/app", key: "yarn-a" }); // miss

  const list = await service.listCaches("acme/app");
  assert.deepEqual(
    list.map((e) => [e.key, e.scope, e.accessCount]),
    [
      ["npm-b", "main", 1],
      ["npm-a", "main", 1],
      ["NPM-A", "pr:3", 0],
    ],
    "most recently used first",
  );
  const a = list.find((e) => e.key === "npm-a");
  assert.ok(a);
  assert.ok(a.createdAt instanceof Date);
  assert.equal(a.createdAt.getTime(), T0 * 1000);
  assert.equal(a.lastAccessedAt?.getTime(), (T0 + 100) * 1000);
  assert.equal(a.createdByRun, "41");
  assert.deepEqual(a.paths, ["out"]);
  assert.equal(a.fileCount, 1);
  assert.equal(a.unpackedBytes, 1000);
  assert.ok(a.size > 0 && a.size < 1000, "compressed");
  assert.match(a.digest, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    (await service.listCaches("acme/app", { sort: "created", limit: 1 })).map(
      (e) => e.key,
    ),
    ["NPM-A"],
  );
  assert.deepEqual(
    (await service.listCaches("acme/app", { prefix: "npm-b" })).map(
      (e) => e.key,
    ),
    ["npm-b"],
  );
  assert.deepEqual(
    (await service.listCaches("acme/app", { scope: "pr:3" })).map((e) => e.key),
    ["NPM-A"],
  );

  const stats = await service.getCacheStats("acme/app");
  assert.equal(stats.cacheCount, 3);
  assert.equal(
    stats.totalSize,
    list.reduce((n, e) => n + e.size, 0),
  );
  assert.deepEqual([stats.hits, stats.partialHits, stats.misses], [1, 1, 1]);
  assert.equal(stats.hitRate, 2 / 3);
  assert.ok(stats.bytesRestored > 0);
  assert.deepEqual(stats.topKeys.map((k) => k.key).sort(), ["npm-a", "npm-b"]);

  // deleteCache: every scope's entry of the key, ignoring case; then "not found".
  assert.equal(await service.deleteCache("acme/app", "Npm-A"), true);
  assert.deepEqual(
    (await service.listCaches("acme/app")).map((e) => e.key),
    ["npm-b"],
  );
  assert.equal(await service.deleteCache("acme/app", "npm-a"), false);
  // Other repos are untouched.
  assert.deepEqual(
    (await service.listCaches("acme/other")).map((e) => e.key),
    ["npm-a"],
  );

  const cleared = await service.clearCaches("acme/app");
  assert.equal(cleared.deleted, 1);
  assert.equal(cleared.freedBytes, list.find((e) => e.key === "npm-b")?.size);
  assert.deepEqual(await service.listCaches("acme/app"), []);
  assert.equal((await service.getCacheStats("acme/app")).cacheCount, 0);
  assert.equal((await service.listCaches("acme/other")).length, 1);
});

test("an unusable store is an error, not an empty list or a 'not found'", async () => {
  const file = path.join(tempDir("svc-bad"), "store");
  fs.writeFileSync(file, "");
  const service = new CacheService({ bin, cacheDir: file });
  for (const call of [
    () => service.listCaches("acme/app"),
    () => service.getCacheStats("acme/app"),
    () => service.deleteCache("acme/app", "k"),
    () => service.clearCaches("acme/app"),
  ]) {
    await assert.rejects(
      call(),
      (e: unknown) =>
        e instanceof WitCacheError && /is not a directory/.test(e.message),
    );
  }
  const missing = new CacheService({
    bin: path.join(tempDir("svc-nobin"), "wit-cache"),
  });
  await assert.rejects(
    missing.listCaches("acme/app"),
    (e: unknown) => e instanceof WitCacheError && e.exitCode === null,
  );
});
