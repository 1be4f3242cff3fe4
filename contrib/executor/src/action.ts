/**
 * `uses: actions/cache@v4|v5`, `actions/cache/restore@…` and `actions/cache/save@…` for the wit
 * executor, on the `wit-cache` binary. Each stage follows the action's own code (restoreImpl.ts,
 * saveImpl.ts of actions/cache) and the runner's handling of it:
 *
 * * the runner evaluates the `with:` values (`${{ … }}`, `hashFiles()` through `wit-cache
 *   hash-files`), warns about unknown and deprecated inputs, and registers the main action's
 *   post-job save before the step runs, to run only when the job succeeded (`post-if: success()`);
 * * `actions/cache` keeps the primary and matched key as its own state and sets only the
 *   `cache-hit` output; `actions/cache/restore` sets `cache-primary-key` (as soon as it has read
 *   the key), `cache-matched-key` and `cache-hit`; on a miss `cache-hit` is not set at all;
 * * the post-job save is skipped after an exact hit (keys equal ignoring case); `actions/cache/save`
 *   has no state and saves under its own `key` input;
 * * a restore that breaks a rule (a comma in a key, more than 10 keys, no path) fails the step;
 *   a store that cannot be read is a warning and a miss; a save never fails anything: its
 *   problems are warnings.
 *
 * Where a run reads and writes is decided by `planScopes` (scopes.ts); untrusted triggers
 * restore with `--read-only` and never save.
 */

import * as os from "node:os";

import { WitCache, WitCacheError } from "./binary.js";
import { ExpressionError, evaluateTemplate, type EvaluationScope } from "./expressions.js";
import {
  ACTION_INPUTS,
  Inputs,
  ValidationError,
  checkKey,
  checkKeys,
  checkPaths,
  inputWarnings,
  isExactKeyMatch,
  type CacheActionKind,
} from "./inputs.js";
import { planScopes, type GitHubContext } from "./scopes.js";

/** A workflow step as the executor parsed it. */
export interface Step {
  uses?: string;
  with?: Record<string, unknown>;
  id?: string;
  name?: string;
}

/** Where the step's log lines go; `warning` and `error` are annotations on GitHub. */
export interface StepLog {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

export type JobStatus = "success" | "failure" | "cancelled";

/** What the executor knows about the job the step runs in. */
export interface ExecutionContext {
  /** The repository's namespace in the store (`wit-cache --repo`). */
  repoId: string;
  /** The workflow run (`save --run-id`). */
  runId: string;
  /** The job's workspace: relative paths and `hashFiles()` patterns start there. */
  workspace: string;
  /**
   * Post-job hooks. The main action pushes its save here when its step starts; run them after
   * the last step, the last registered first (as the runner runs post steps).
   */
  postJobHooks: Array<() => Promise<unknown>>;
  /** The job's status so far. Read when a post-job hook runs, so keep it current. */
  jobStatus: JobStatus;
  /** GitHub's `github` context: event name, ref, repository, the event payload. */
  github: GitHubContext;
  /**
   * The other contexts `with:` values may use: `env`, `matrix`, `inputs`, `vars`, `steps`,
   * `job`, `strategy`, `needs`, `secrets`, `runner`. `runner` defaults to this host's `os` and
   * `arch` in GitHub's spelling (`Linux`, `X64`).
   */
  contexts?: Record<string, unknown>;
  /** Where the step's log lines go; default the console. */
  log?: StepLog;
}

/** The step's outcome, with the outputs the action sets (an absent output is unset). */
export interface StepResult {
  conclusion: "success" | "failure";
  outputs: Record<string, string>;
  /** Why the step failed. */
  error?: string;
}

/** What a post-job save did. */
export interface PostJobResult {
  /** False when `post-if: success()` skipped it. */
  ran: boolean;
  /** True when an entry was written. */
  saved: boolean;
}

export interface CacheActionOptions {
  /** The binary; default `new WitCache()` (`$WIT_CACHE_BIN` or `wit-cache` on PATH). */
  cache?: WitCache;
}

/** The major versions this module implements; their inputs and outputs are the same. */
const MAJORS = new Set(["4", "5"]);

/**
 * Which of the three actions `uses:` names, or `undefined` for another action. Owner and
 * repository compare case-insensitively (as GitHub resolves them), the sub-path exactly.
 */
export function parseCacheActionRef(
  uses: string,
): { kind: CacheActionKind; ref: string } | undefined {
  const at = uses.indexOf("@");
  if (at < 0) return undefined;
  const [owner, repo, ...path] = uses.slice(0, at).split("/");
  if (owner?.toLowerCase() !== "actions" || repo?.toLowerCase() !== "cache") return undefined;
  const sub = path.join("/");
  const kind: CacheActionKind | undefined =
    sub === "" ? "cache" : sub === "restore" ? "restore" : sub === "save" ? "save" : undefined;
  return kind && { kind, ref: uses.slice(at + 1) };
}

/**
 * True for `v4`, `v4.3.0`, `v5`, `v5.0.1`, … (the refs whose behaviour this module implements)
 * and for a full commit SHA: pinning actions to a commit is what GitHub's hardening guide
 * recommends, and a pin cannot be resolved to its version offline, so it is run as v4/v5
 * (every v4 and v5 release has the same inputs and outputs).
 */
export function isSupportedRef(ref: string): boolean {
  if (/^[0-9a-f]{40}$/.test(ref)) return true;
  const m = /^v(\d+)(?:\.\d+){0,2}$/.exec(ref);
  return !!m && MAJORS.has(m[1] ?? "");
}

/** Runs one `actions/cache` step (or a sub-action); the main action also registers its save. */
export async function executeCacheAction(
  step: Step,
  context: ExecutionContext,
  options: CacheActionOptions = {},
): Promise<StepResult> {
  const log = context.log ?? consoleLog;
  const cache = options.cache ?? new WitCache();
  const uses = step.uses ?? "";
  const parsed = parseCacheActionRef(uses);
  if (!parsed)
    return failed(
      log,
      `'${uses}' is not actions/cache, actions/cache/restore or actions/cache/save`,
    );
  if (!isSupportedRef(parsed.ref)) {
    return failed(
      log,
      `'${uses}': wit runs actions/cache at v4 and v5 (@v4, @v5, @v4.3.0, …, or a commit SHA); '${parsed.ref}' is not one of them`,
    );
  }
  const { kind } = parsed;

  // The runner registers the post step when the main step starts, before it evaluates the
  // inputs; `post-if: success()` decides at the end of the job whether it runs.
  const state: SaveState = {};
  if (kind === "cache") {
    context.postJobHooks.push(() => postJobSave(step, state, context, cache));
  }

  const given = Object.keys(step.with ?? {});
  for (const w of inputWarnings(kind, given)) log.warning(w);
  let inputs: Inputs;
  try {
    inputs = await evaluateInputs(step, kind, context, cache, log);
  } catch (e) {
    return failed(log, message(e));
  }

  if (kind === "save") {
    await saveStage({ kind, inputs, state: {}, context, cache, log });
    return { conclusion: "success", outputs: {} };
  }

  return restoreStage(kind, inputs, state, context, cache, log);
}

/** What the main action keeps between its restore and its post-job save (its STATE). */
interface SaveState {
  primaryKey?: string;
  matchedKey?: string;
}

async function restoreStage(
  kind: "cache" | "restore",
  inputs: Inputs,
  state: SaveState,
  context: ExecutionContext,
  cache: WitCache,
  log: StepLog,
): Promise<StepResult> {
  const outputs: Record<string, string> = {};
  // actions/cache/restore turns what the main action keeps as state into outputs.
  const setPrimary = (k: string) =>
    kind === "cache" ? (state.primaryKey = k) : (outputs["cache-primary-key"] = k);
  const setMatched = (k: string) =>
    kind === "cache" ? (state.matchedKey = k) : (outputs["cache-matched-key"] = k);

  if (!validEvent(context.github, log)) return { conclusion: "success", outputs };
  try {
    const primaryKey = inputs.get("key", { required: true });
    setPrimary(primaryKey);
    const restoreKeys = inputs.array("restore-keys");
    const paths = inputs.array("path", { required: true });
    // enableCrossOsArchive only matters for Windows runners sharing a cache with others; one
    // host has one OS, so it is read (as the action reads it) and has no effect.
    inputs.bool("enableCrossOsArchive");
    const failOnCacheMiss = inputs.bool("fail-on-cache-miss");
    const lookupOnly = inputs.bool("lookup-only");
    checkPaths(paths);
    checkKeys(primaryKey, restoreKeys);

    const plan = planScopes(context.github);
    if (plan.readOnly)
      log.info(`Restoring read-only: ${plan.readOnlyReason ?? ""}; this run saves no cache.`);
    let matched: string | undefined;
    try {
      const { doc, stderr } = await cache.restore({
        repo: context.repoId,
        workspace: context.workspace,
        key: primaryKey,
        restoreKeys,
        paths,
        scope: plan.scope,
        fallbackScopes: plan.fallbackScopes,
        lookupOnly,
        readOnly: plan.readOnly,
      });
      forward(stderr, log);
      if (doc.cacheHit !== null && doc.matchedKey !== null)
        matched = trustedKey(doc.matchedKey, log);
    } catch (e) {
      if (e instanceof WitCacheError && e.isUsageError) throw new ValidationError(e.message);
      forward(e instanceof WitCacheError ? e.stderr : [], log);
      log.warning(`Failed to restore: ${message(e)}`);
    }

    if (matched === undefined) {
      if (failOnCacheMiss) {
        throw new Error(
          `Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: ${primaryKey}`,
        );
      }
      log.info(`Cache not found for input keys: ${[primaryKey, ...restoreKeys].join(", ")}`);
      return { conclusion: "success", outputs };
    }
    setMatched(matched);
    outputs["cache-hit"] = String(isExactKeyMatch(primaryKey, matched));
    log.info(
      lookupOnly
        ? `Cache found and can be restored from key: ${matched}`
        : `Cache restored from key: ${matched}`,
    );
    return { conclusion: "success", outputs };
  } catch (e) {
    return { ...failed(log, message(e)), outputs };
  }
}

/** The main action's post step: `post-if: success()`, then the inputs again, then the save. */
async function postJobSave(
  step: Step,
  state: SaveState,
  context: ExecutionContext,
  cache: WitCache,
): Promise<PostJobResult> {
  const log = context.log ?? consoleLog;
  if (context.jobStatus !== "success") {
    log.info(
      `Post job cache save skipped: the job's status is ${context.jobStatus} (post-if: success()).`,
    );
    return { ran: false, saved: false };
  }
  let inputs: Inputs;
  try {
    // The runner evaluates the inputs again for the post step. Only those the save reads are
    // evaluated here (the key only when the restore recorded none), and a failure is a
    // warning: on GitHub it fails a job that succeeded (a `hashFiles()` the build broke).
    const read = ["path", "enableCrossOsArchive", "upload-chunk-size"];
    inputs = await evaluateInputs(
      step,
      "cache",
      context,
      cache,
      log,
      state.primaryKey ? read : [...read, "key"],
    );
  } catch (e) {
    log.warning(`Not saving cache: ${message(e)}`);
    return { ran: true, saved: false };
  }
  return {
    ran: true,
    saved: await saveStage({ kind: "cache", inputs, state, context, cache, log }),
  };
}

/** saveImpl: the post step of the main action (with its state) or actions/cache/save (without). */
async function saveStage(s: {
  kind: "cache" | "save";
  inputs: Inputs;
  state: SaveState;
  context: ExecutionContext;
  cache: WitCache;
  log: StepLog;
}): Promise<boolean> {
  const { inputs, state, context, cache, log } = s;
  if (!validEvent(context.github, log)) return false;
  let failed = false;
  let saved = false;
  try {
    const primaryKey = state.primaryKey || inputs.get("key");
    if (!primaryKey) {
      log.warning("Key is not specified.");
      return false;
    }
    if (isExactKeyMatch(primaryKey, state.matchedKey)) {
      log.info(`Cache hit occurred on the primary key ${primaryKey}, not saving cache.`);
      return false;
    }
    const plan = planScopes(context.github);
    if (plan.readOnly) {
      log.warning(`Cache not saved: ${plan.readOnlyReason ?? "read-only run"}.`);
      return false;
    }
    const paths = inputs.array("path", { required: true });
    inputs.bool("enableCrossOsArchive");
    // upload-chunk-size sizes the upload to GitHub's service; a local store has no chunks.
    checkPaths(paths);
    checkKey(primaryKey);
    try {
      const { doc, stderr } = await cache.save({
        repo: context.repoId,
        workspace: context.workspace,
        key: primaryKey,
        paths,
        scope: plan.scope,
        runId: context.runId,
      });
      forward(stderr, log);
      if (doc.saved) {
        saved = true;
        log.info(`Cache saved with key: ${primaryKey}`);
      } else if (doc.alreadyExisted) {
        log.info(
          `Failed to save: Unable to reserve cache with key ${primaryKey}, another job may be creating this cache.`,
        );
        failed = true;
      } else {
        // Nothing to save (none of the paths exist): the binary said so in its warnings.
        failed = true;
      }
    } catch (e) {
      forward(e instanceof WitCacheError ? e.stderr : [], log);
      log.warning(`Failed to save: ${message(e)}`);
      failed = true;
    }
  } catch (e) {
    log.warning(message(e));
    failed = true;
  }
  if (failed && s.kind === "save") log.warning("Cache save failed.");
  return saved;
}

/**
 * Evaluates the step's `with:` values as the runner does before a stage (`only`, when given,
 * names the inputs the stage reads), and adds the action's defaults for inputs not given.
 */
async function evaluateInputs(
  step: Step,
  kind: CacheActionKind,
  context: ExecutionContext,
  cache: WitCache,
  log: StepLog,
  only?: readonly string[],
): Promise<Inputs> {
  const scope = evaluationScope(context, cache, log);
  const values: [string, string][] = [];
  for (const [name, raw] of Object.entries(step.with ?? {})) {
    if (only && !only.some((n) => n.toLowerCase() === name.toLowerCase())) continue;
    values.push([name, await evaluateInput(name, raw, scope)]);
  }
  for (const def of ACTION_INPUTS[kind]) {
    const has = values.some(([n]) => n.toLowerCase() === def.name.toLowerCase());
    if (!has && def.default !== undefined) values.push([def.name, def.default]);
  }
  return new Inputs(values);
}

async function evaluateInput(name: string, raw: unknown, scope: EvaluationScope): Promise<string> {
  if (raw === null || raw === undefined) return "";
  if (typeof raw === "boolean" || typeof raw === "number" || typeof raw === "bigint")
    return String(raw);
  if (typeof raw !== "string") {
    throw new Error(
      `The '${name}' input is ${Array.isArray(raw) ? "a sequence" : "a mapping"}: an input is a string`,
    );
  }
  try {
    return await evaluateTemplate(raw, scope);
  } catch (e) {
    throw new Error(`The template is not valid: input '${name}': ${message(e)}`);
  }
}

/** The contexts and the `hashFiles()` of this job, for `${{ … }}`. */
export function evaluationScope(
  context: ExecutionContext,
  cache: WitCache,
  log?: StepLog,
): EvaluationScope {
  const given = context.contexts ?? {};
  const runner =
    typeof given["runner"] === "object" && given["runner"] !== null ? given["runner"] : {};
  const contexts: Record<string, unknown> = {
    ...given,
    runner: { os: runnerOs(), arch: runnerArch(), ...runner },
    github: { workspace: context.workspace, ...context.github },
  };
  return {
    contexts,
    hashFiles: (args) => hashFiles(args, context.workspace, cache, log),
  };
}

/**
 * The runner's `hashFiles()`: a first argument starting with `--` is an option, and only
 * `--follow-symbolic-links` (in any case) is one; every other argument is a pattern.
 */
async function hashFiles(
  args: string[],
  workspace: string,
  cache: WitCache,
  log?: StepLog,
): Promise<string> {
  let follow = false;
  const patterns = [...args];
  const first = patterns[0];
  if (first !== undefined && first.startsWith("--")) {
    if (first.toLowerCase() !== "--follow-symbolic-links") {
      throw new ExpressionError(
        `Invalid glob option ${first}, avaliable option: '--follow-symbolic-links'.`,
      );
    }
    follow = true;
    patterns.shift();
  }
  try {
    const { doc, stderr } = await cache.hashFiles(patterns, {
      workspace,
      followSymbolicLinks: follow,
    });
    if (log) forward(stderr, log);
    return doc.hash;
  } catch (e) {
    const quoted = patterns.join(", ").replaceAll("'", "''");
    throw new ExpressionError(
      `hashFiles('${quoted}') failed. Fail to hash files under directory '${workspace}': ${message(e)}`,
    );
  }
}

/** actions/cache's `isValidEvent`: the cache needs a ref to scope its entries by. */
function validEvent(github: GitHubContext, log: StepLog): boolean {
  if (github.ref) return true;
  log.warning(
    `Event Validation Error: The event type ${github.event_name} is not supported because it's not tied to a branch or tag ref.`,
  );
  return false;
}

/**
 * A matched key comes from the index, which an earlier job may have written: one that no valid
 * key could be (a control character would forge log lines or outputs) is ignored.
 */
function trustedKey(key: string, log: StepLog): string | undefined {
  try {
    checkKey(key);
    if (key.length > 0) return key;
  } catch {
    // fall through
  }
  log.warning(`Ignored the cache entry found: its key ${JSON.stringify(key)} is not a valid key.`);
  return undefined;
}

/**
 * Passes the binary's stderr on: its warnings as warnings, other lines as information. Its
 * `error:` line is left out: it is the message of the error the caller reports.
 */
function forward(lines: readonly string[], log: StepLog): void {
  for (const line of lines) {
    if (line.startsWith("warning: ")) log.warning(line.slice("warning: ".length));
    else if (!line.startsWith("error: ")) log.info(line);
  }
}

function failed(log: StepLog, why: string): StepResult {
  log.error(why);
  return { conclusion: "failure", outputs: {}, error: why };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function runnerOs(): string {
  switch (os.platform()) {
    case "darwin":
      return "macOS";
    case "win32":
      return "Windows";
    default:
      return "Linux";
  }
}

function runnerArch(): string {
  switch (os.arch()) {
    case "arm64":
      return "ARM64";
    case "arm":
      return "ARM";
    case "ia32":
      return "X86";
    default:
      return "X64";
  }
}

const consoleLog: StepLog = {
  info: (m) => console.log(m),
  warning: (m) => console.warn(`Warning: ${m}`),
  error: (m) => console.error(`Error: ${m}`),
};
