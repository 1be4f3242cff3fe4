/**
 * Typed calls on the `wit-cache` binary: every command runs with `--json`, its one document on
 * stdout is checked field by field, and its stderr lines (warnings, errors) are handed back.
 *
 * The binary is run with an argument vector, never through a shell, so keys and paths are data.
 * Its environment is the caller's minus `GITHUB_OUTPUT` and `WIT_CACHE_SCOPE`: the step outputs
 * and the scope are decided by the caller (`restore` would otherwise append the outputs of the
 * `restore` sub-action to the job's output file behind the caller's back).
 */

import { spawn } from "node:child_process";

/** Where the binary is and how it is run. */
export interface WitCacheOptions {
  /** The binary: default `$WIT_CACHE_BIN`, else `wit-cache` on `PATH`. */
  bin?: string;
  /** `--cache-dir`; default the binary's own (`WIT_CACHE_DIR`, `CACHE_DIR`, the platform cache dir). */
  cacheDir?: string;
  /** The binary's environment (`HOME` for `~/…` paths, `WIT_CACHE_SIGNING_KEY`, `WIT_CACHE_STORE`, …); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** A run of the binary that did not give a document: it could not start, or it exited non-zero. */
export class WitCacheError extends Error {
  constructor(
    message: string,
    /** The exit code; `null` when the binary could not be started or was killed. */
    readonly exitCode: number | null,
    /** Its stderr, line by line. */
    readonly stderr: readonly string[],
  ) {
    super(message);
    this.name = "WitCacheError";
  }

  /** Exit code 2: an input broke a rule (a key with a comma, a bad path, …); the message says which. */
  get isUsageError(): boolean {
    return this.exitCode === 2;
  }
}

/** The `restore --json` document. */
export interface RestoreDocument {
  /** `true`: the primary key itself; `false`: another key; `null`: a miss. */
  cacheHit: boolean | null;
  primaryKey: string;
  matchedKey: string | null;
  scope: string | null;
  sizeBytes: number;
  lookupOnly: boolean;
}

/** The `save --json` document. */
export interface SaveDocument {
  saved: boolean;
  alreadyExisted: boolean;
  key: string;
  scope: string | null;
  sizeBytes: number;
  fileCount: number;
}

/** One entry of `list --json`. */
export interface EntryDocument {
  id: number | null;
  repo: string;
  key: string;
  scope: string | null;
  version: string;
  paths: string[];
  compression: string;
  sizeBytes: number;
  unpackedBytes: number;
  fileCount: number;
  digest: string;
  createdAt: Date;
  lastAccessedAt: Date | null;
  accessCount: number | null;
  createdByRun: string | null;
}

/** Per-repo figures of `stats --json`. */
export interface RepoStatsDocument {
  repo: string;
  entries: number;
  sizeBytes: number;
  hits: number;
  partialHits: number;
  misses: number;
  /** (hits + partial hits) / attempts; 0 when there were none. */
  hitRate: number;
  bytesRestored: number;
  restoreMs: number;
}

export interface StatsDocument {
  repos: RepoStatsDocument[];
  total: Omit<RepoStatsDocument, "repo">;
  topKeys: { repo: string; key: string; restores: number }[];
}

/** The `delete --json` document. */
export interface DeleteDocument {
  deleted: number;
  freedBytes: number;
  keys: string[];
}

export interface RestoreRequest {
  repo: string;
  workspace: string;
  key: string;
  restoreKeys: readonly string[];
  paths: readonly string[];
  scope: string;
  fallbackScopes: readonly string[];
  lookupOnly?: boolean;
  readOnly?: boolean;
}

export interface SaveRequest {
  repo: string;
  workspace: string;
  key: string;
  paths: readonly string[];
  scope: string;
  runId?: string;
}

export type SortOrder = "created" | "last-used" | "size";

/** What one run printed: its document and its stderr lines. */
export interface Answer<T> {
  doc: T;
  stderr: string[];
}

export class WitCache {
  readonly bin: string;
  private readonly cacheDir: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: WitCacheOptions = {}) {
    const env = options.env ?? process.env;
    this.bin = options.bin ?? env["WIT_CACHE_BIN"] ?? "wit-cache";
    this.cacheDir = options.cacheDir;
    this.env = { ...env };
    delete this.env["GITHUB_OUTPUT"];
    delete this.env["WIT_CACHE_SCOPE"];
  }

  async restore(r: RestoreRequest): Promise<Answer<RestoreDocument>> {
    const args = ["restore", "--repo", r.repo, "--workspace", r.workspace, "--key", r.key];
    for (const k of r.restoreKeys) args.push("--restore-key", k);
    for (const p of r.paths) args.push("--path", p);
    args.push("--scope", r.scope);
    for (const s of r.fallbackScopes) args.push("--fallback-scope", s);
    if (r.lookupOnly) args.push("--lookup-only");
    if (r.readOnly) args.push("--read-only");
    const { doc, stderr } = await this.run(args);
    const o = object(doc, "restore");
    const hit = o["cache_hit"];
    if (hit !== null && typeof hit !== "boolean") throw malformed("restore", "cache_hit");
    return {
      doc: {
        cacheHit: hit,
        primaryKey: str(o, "primary_key", "restore"),
        matchedKey: optStr(o, "matched_key", "restore"),
        scope: optStr(o, "scope", "restore"),
        sizeBytes: num(o, "size_bytes", "restore"),
        lookupOnly: o["lookup_only"] === true,
      },
      stderr,
    };
  }

  async save(r: SaveRequest): Promise<Answer<SaveDocument>> {
    const args = ["save", "--repo", r.repo, "--workspace", r.workspace, "--key", r.key];
    for (const p of r.paths) args.push("--path", p);
    args.push("--scope", r.scope);
    if (r.runId) args.push("--run-id", r.runId);
    const { doc, stderr } = await this.run(args);
    const o = object(doc, "save");
    return {
      doc: {
        saved: bool(o, "saved", "save"),
        alreadyExisted: bool(o, "already_existed", "save"),
        key: str(o, "key", "save"),
        scope: optStr(o, "scope", "save"),
        sizeBytes: num(o, "size_bytes", "save"),
        fileCount: num(o, "file_count", "save"),
      },
      stderr,
    };
  }

  /**
   * The hash `hashFiles()` gives for the patterns ("" when nothing matches). The patterns go as
   * one newline-separated argument after `--`, as the runner hands them to its hashing script,
   * so that a pattern starting with `-` stays a pattern.
   */
  async hashFiles(
    patterns: readonly string[],
    options: { workspace: string; followSymbolicLinks?: boolean },
  ): Promise<Answer<{ hash: string; files: number }>> {
    const args = ["hash-files", "--workspace", options.workspace];
    if (options.followSymbolicLinks) args.push("--follow-symbolic-links");
    args.push("--", patterns.join("\n"));
    const { doc, stderr } = await this.run(args);
    const o = object(doc, "hash-files");
    const hash = str(o, "hash", "hash-files");
    if (!/^([0-9a-f]{64})?$/.test(hash)) throw malformed("hash-files", "hash");
    return { doc: { hash, files: num(o, "files", "hash-files") }, stderr };
  }

  async list(
    repo: string,
    options: { prefix?: string; scope?: string; sort?: SortOrder; limit?: number } = {},
  ): Promise<Answer<EntryDocument[]>> {
    const args = ["list", "--repo", repo];
    if (options.prefix !== undefined) args.push("--prefix", options.prefix);
    if (options.scope !== undefined) args.push("--scope", options.scope);
    if (options.sort !== undefined) args.push("--sort", options.sort);
    if (options.limit !== undefined) args.push("--limit", String(options.limit));
    const { doc, stderr } = await this.run(args);
    const caches = object(doc, "list")["caches"];
    if (!Array.isArray(caches)) throw malformed("list", "caches");
    return { doc: caches.map(entry), stderr };
  }

  async stats(repo: string): Promise<Answer<StatsDocument>> {
    const { doc, stderr } = await this.run(["stats", "--repo", repo]);
    const o = object(doc, "stats");
    const repos = o["repos"];
    const top = o["top_keys"];
    if (!Array.isArray(repos)) throw malformed("stats", "repos");
    if (!Array.isArray(top)) throw malformed("stats", "top_keys");
    return {
      doc: {
        repos: repos.map((r) => {
          const x = object(r, "stats");
          return { repo: str(x, "repo", "stats"), ...figures(x) };
        }),
        total: figures(object(o["total"], "stats")),
        topKeys: top.map((t) => {
          const x = object(t, "stats");
          return {
            repo: str(x, "repo", "stats"),
            key: str(x, "key", "stats"),
            restores: num(x, "restores", "stats"),
          };
        }),
      },
      stderr,
    };
  }

  /** `delete --key K` (every scope and version of the key) or, with `all`, `delete --all`. */
  async delete(
    repo: string,
    target: { key: string } | { all: true },
  ): Promise<Answer<DeleteDocument>> {
    const args = ["delete", "--repo", repo];
    if ("key" in target) args.push("--key", target.key);
    else args.push("--all");
    const { doc, stderr } = await this.run(args);
    const o = object(doc, "delete");
    const keys = o["keys"];
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
      throw malformed("delete", "keys");
    }
    return {
      doc: {
        deleted: num(o, "deleted", "delete"),
        freedBytes: num(o, "freed_bytes", "delete"),
        keys,
      },
      stderr,
    };
  }

  /** Runs one command with `--json` and parses its document. */
  private run(args: string[]): Promise<{ doc: unknown; stderr: string[] }> {
    // The shared flags go right after the command name: `hash-files` ends with `--` and its
    // patterns, after which every argument is a pattern.
    const [command = "", ...rest] = args;
    // `-q`: the caller writes the log; the binary's warnings and errors still come through.
    const full = [command, "--json", "--quiet", "--color", "never"];
    if (this.cacheDir !== undefined) full.push("--cache-dir", this.cacheDir);
    full.push(...rest);
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, full, { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) => {
        reject(new WitCacheError(`cannot run ${this.bin}: ${e.message}`, null, []));
      });
      child.on("close", (code, signal) => {
        const stderr = lines(Buffer.concat(err).toString("utf8"));
        if (code !== 0) {
          // The binary's last "error: …" line says what went wrong, in one line.
          const last = [...stderr].reverse().find((l) => l.startsWith("error: "));
          const why =
            last?.slice("error: ".length) ??
            (signal ? `killed by ${signal}` : `exit code ${String(code)}`);
          reject(new WitCacheError(`wit-cache ${command}: ${why}`, code, stderr));
          return;
        }
        try {
          resolve({ doc: JSON.parse(Buffer.concat(out).toString("utf8")), stderr });
        } catch {
          reject(new WitCacheError(`wit-cache ${command} printed no JSON document`, code, stderr));
        }
      });
    });
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

function malformed(command: string, field: string): WitCacheError {
  return new WitCacheError(
    `wit-cache ${command} --json: field '${field}' is missing or malformed`,
    0,
    [],
  );
}

function object(v: unknown, command: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw malformed(command, "(document)");
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, field: string, command: string): string {
  const v = o[field];
  if (typeof v !== "string") throw malformed(command, field);
  return v;
}

function optStr(o: Record<string, unknown>, field: string, command: string): string | null {
  const v = o[field];
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw malformed(command, field);
  return v;
}

function num(o: Record<string, unknown>, field: string, command: string): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw malformed(command, field);
  return v;
}

function optNum(o: Record<string, unknown>, field: string, command: string): number | null {
  return o[field] === null || o[field] === undefined ? null : num(o, field, command);
}

function bool(o: Record<string, unknown>, field: string, command: string): boolean {
  const v = o[field];
  if (typeof v !== "boolean") throw malformed(command, field);
  return v;
}

function date(o: Record<string, unknown>, field: string, command: string): Date {
  const d = new Date(str(o, field, command));
  if (Number.isNaN(d.getTime())) throw malformed(command, field);
  return d;
}

function entry(v: unknown): EntryDocument {
  const o = object(v, "list");
  const paths = o["paths"];
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string")) {
    throw malformed("list", "paths");
  }
  return {
    id: optNum(o, "id", "list"),
    repo: str(o, "repo", "list"),
    key: str(o, "key", "list"),
    scope: optStr(o, "scope", "list"),
    version: str(o, "version", "list"),
    paths,
    compression: str(o, "compression", "list"),
    sizeBytes: num(o, "size_bytes", "list"),
    unpackedBytes: num(o, "unpacked_bytes", "list"),
    fileCount: num(o, "file_count", "list"),
    digest: str(o, "digest", "list"),
    createdAt: date(o, "created_at", "list"),
    lastAccessedAt: o["last_accessed_at"] === null ? null : date(o, "last_accessed_at", "list"),
    accessCount: optNum(o, "access_count", "list"),
    createdByRun: optStr(o, "created_by_run", "list"),
  };
}

function figures(o: Record<string, unknown>): Omit<RepoStatsDocument, "repo"> {
  const rate = o["hit_rate"];
  if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) throw malformed("stats", "hit_rate");
  return {
    entries: num(o, "entries", "stats"),
    sizeBytes: num(o, "size_bytes", "stats"),
    hits: num(o, "hits", "stats"),
    partialHits: num(o, "partial_hits", "stats"),
    misses: num(o, "misses", "stats"),
    hitRate: rate,
    bytesRestored: num(o, "bytes_restored", "stats"),
    restoreMs: num(o, "restore_ms", "stats"),
  };
}
