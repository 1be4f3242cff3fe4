/**
 * A small job runner in the wit executor's place: it reads a workflow's YAML with a real YAML
 * parser, runs `run:` steps with bash in a fresh workspace and home (a new runner machine per
 * job), hands `actions/cache` steps to the module under test, and runs the post-job hooks the
 * way the runner runs post steps (last registered first, after every step). Every job of a
 * test shares one store, as the jobs of one runner host do.
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import YAML from "yaml";

import {
  WitCache,
  executeCacheAction,
  parseCacheActionRef,
  type ExecutionContext,
  type GitHubContext,
  type JobStatus,
  type PostJobResult,
  type StepResult,
} from "wit-cache-executor";

const here = path.dirname(fileURLToPath(import.meta.url));
/** tests/executor (the compiled tests live in tests/executor/build). */
export const testsDir = path.resolve(here, "..");
const repoRoot = path.resolve(testsDir, "..", "..");
export const bin = path.resolve(
  repoRoot,
  process.env["WIT_CACHE_BIN"] ?? "target/debug/wit-cache",
);
/** The tiny npm project (ms 2.1.3) and the same project after a dependency update (ms 2.1.2). */
export const app = path.join(testsDir, "app");
export const appNext = path.join(testsDir, "app-next");

/** The example workflow of the README and DESIGN.md: checkout, cache, `npm ci`, build. */
export const EXAMPLE_WORKFLOW = `
name: Build
on: push

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4

      - name: Cache node modules
        uses: actions/cache@v4
        with:
          path: |
            node_modules
            ~/.npm
          key: npm-\${{ runner.os }}-\${{ hashFiles('package-lock.json') }}
          restore-keys: |
            npm-\${{ runner.os }}-

      - run: npm ci
      - run: npm run build
`;

const made: string[] = [];
// Every directory a test made goes when the test file's process ends (node --test runs each
// file in a process of its own).
process.on("exit", () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wit-exec-${prefix}-`));
  made.push(d);
  return d;
}

/** hashFiles() of a single file, computed here the runner's way: SHA-256 of the file's SHA-256. */
export function hashOfOneFile(file: string): string {
  const inner = createHash("sha256").update(fs.readFileSync(file)).digest();
  return createHash("sha256").update(inner).digest("hex");
}

export interface LogLine {
  level: "info" | "warning" | "error";
  message: string;
}

export interface StepRun {
  name: string;
  id?: string;
  /** For cache steps: what the module returned. */
  result?: StepResult;
  /** For `run:` steps: the exit code and output. */
  exitCode?: number;
  output?: string;
  skipped: boolean;
}

export interface JobRun {
  status: JobStatus;
  steps: StepRun[];
  posts: PostJobResult[];
  log: LogLine[];
  workspace: string;
  home: string;
  warnings(): string[];
  infos(): string[];
  errors(): string[];
  /** The result of the step with this `id` (or the first cache step). */
  cacheStep(id?: string): StepResult;
}

export interface Event {
  event_name: string;
  ref: string;
  base_ref?: string;
  repository?: string;
  event?: Record<string, unknown>;
}

export const push = (branch: string): Event => ({
  event_name: "push",
  ref: `refs/heads/${branch}`,
});
export const pullRequest = (n: number, base: string): Event => ({
  event_name: "pull_request",
  ref: `refs/pull/${n}/merge`,
  base_ref: base,
  event: { number: n, pull_request: { number: n } },
});

/** One runner host: a store shared by the jobs it runs. */
export class Host {
  readonly store = tempDir("store");
  readonly repoId = "acme/app";
  private runs = 0;

  /** A client for the binary with this host's store and the given home. */
  cache(home = tempDir("home")): WitCache {
    return new WitCache({
      bin,
      cacheDir: this.store,
      env: { ...process.env, HOME: home },
    });
  }

  /** The store's entries, read with the binary itself. */
  entries(): {
    key: string;
    scope: string | null;
    paths: string[];
    created_by_run: string | null;
  }[] {
    const out = spawnSync(
      bin,
      ["list", "--json", "--repo", this.repoId, "--cache-dir", this.store],
      {
        encoding: "utf8",
      },
    );
    if (out.status !== 0)
      throw new Error(`wit-cache list failed: ${out.stderr}`);
    return (JSON.parse(out.stdout) as { caches: never[] }).caches;
  }

  stats(): { hits: number; partial_hits: number; misses: number } {
    const out = spawnSync(
      bin,
      ["stats", "--json", "--repo", this.repoId, "--cache-dir", this.store],
      {
        encoding: "utf8",
      },
    );
    if (out.status !== 0)
      throw new Error(`wit-cache stats failed: ${out.stderr}`);
    const doc = JSON.parse(out.stdout) as {
      total: { hits: number; partial_hits: number; misses: number };
    };
    return doc.total;
  }

  /**
   * Runs the `build` job of a workflow. `checkout` is what actions/checkout puts in the
   * workspace; `env` is added to every `run:` step's environment.
   */
  async run(
    workflow: string,
    options: {
      event?: Event;
      checkout?: string;
      env?: Record<string, string>;
      contexts?: Record<string, unknown>;
      cache?: (home: string) => WitCache;
    } = {},
  ): Promise<JobRun> {
    const event = options.event ?? push("main");
    const workspace = tempDir("ws");
    const home = tempDir("home");
    const cache = options.cache ? options.cache(home) : this.cache(home);
    const log: LogLine[] = [];
    const github: GitHubContext = {
      event_name: event.event_name,
      ref: event.ref,
      repository: event.repository ?? this.repoId,
      ...(event.base_ref !== undefined ? { base_ref: event.base_ref } : {}),
      event: { repository: { default_branch: "main" }, ...event.event },
    };
    const steps: StepRun[] = [];
    const stepsContext: Record<string, { outputs: Record<string, string> }> =
      {};
    const context: ExecutionContext = {
      repoId: this.repoId,
      runId: String(++this.runs),
      workspace,
      postJobHooks: [],
      jobStatus: "success",
      github,
      contexts: { steps: stepsContext, ...options.contexts },
      log: {
        info: (message) => log.push({ level: "info", message }),
        warning: (message) => log.push({ level: "warning", message }),
        error: (message) => log.push({ level: "error", message }),
      },
    };
    const doc = YAML.parse(workflow) as {
      jobs: {
        build: {
          steps: {
            uses?: string;
            run?: string;
            with?: Record<string, unknown>;
            id?: string;
            name?: string;
            "continue-on-error"?: boolean;
          }[];
        };
      };
    };
    for (const step of doc.jobs.build.steps) {
      const name = step.name ?? step.uses ?? step.run ?? "";
      if (context.jobStatus !== "success") {
        steps.push({
          name,
          ...(step.id ? { id: step.id } : {}),
          skipped: true,
        });
        continue;
      }
      if (step.uses?.startsWith("actions/checkout@")) {
        fs.cpSync(options.checkout ?? app, workspace, { recursive: true });
        steps.push({ name, skipped: false });
      } else if (step.uses && parseCacheActionRef(step.uses)) {
        const result = await executeCacheAction(step, context, { cache });
        if (step.id) stepsContext[step.id] = { outputs: result.outputs };
        if (result.conclusion === "failure" && !step["continue-on-error"])
          context.jobStatus = "failure";
        steps.push({
          name,
          ...(step.id ? { id: step.id } : {}),
          result,
          skipped: false,
        });
      } else if (step.run !== undefined) {
        const out = spawnSync("bash", ["-e", "-c", step.run], {
          cwd: workspace,
          encoding: "utf8",
          env: npmEnv(home, options.env),
        });
        const exitCode = out.status ?? 1;
        if (exitCode !== 0 && !step["continue-on-error"])
          context.jobStatus = "failure";
        steps.push({
          name,
          exitCode,
          output: `${out.stdout}${out.stderr}`,
          skipped: false,
        });
      } else {
        throw new Error(
          `the test runner does not run step ${JSON.stringify(step)}`,
        );
      }
    }
    const posts: PostJobResult[] = [];
    for (const hook of [...context.postJobHooks].reverse())
      posts.push((await hook()) as PostJobResult);
    const by = (level: LogLine["level"]) => () =>
      log.filter((l) => l.level === level).map((l) => l.message);
    return {
      status: context.jobStatus,
      steps,
      posts,
      log,
      workspace,
      home,
      warnings: by("warning"),
      infos: by("info"),
      errors: by("error"),
      cacheStep(id?: string): StepResult {
        const s = steps.find(
          (x) => x.result && (id === undefined || x.id === id),
        );
        if (!s?.result) throw new Error(`no cache step ${id ?? ""} ran`);
        return s.result;
      },
    };
  }
}

/**
 * The environment of a `run:` step: a home of its own (so `~/.npm` is the job's), npm's cache
 * there, and the machine's npm settings (registry, certificates) from the real user config.
 */
function npmEnv(
  home: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    npm_config_cache: path.join(home, ".npm"),
  };
  const userConfig = path.join(os.homedir(), ".npmrc");
  if (fs.existsSync(userConfig)) env["npm_config_userconfig"] = userConfig;
  env["npm_config_update_notifier"] = "false";
  env["npm_config_audit"] = "false";
  env["npm_config_fund"] = "false";
  return { ...env, ...extra };
}

/** The version of a package in a workspace's node_modules, or undefined when it is not there. */
export function installedVersion(
  workspace: string,
  name: string,
): string | undefined {
  const file = path.join(workspace, "node_modules", name, "package.json");
  if (!fs.existsSync(file)) return undefined;
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string })
    .version;
}

/** The workflow with its cache step's `uses:` replaced. */
export function withUses(workflow: string, uses: string): string {
  return workflow.replace("uses: actions/cache@v4", `uses: ${uses}`);
}
