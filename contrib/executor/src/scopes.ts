/**
 * Which scopes a run reads and writes, from its `github` context, with GitHub's isolation rules:
 *
 * * a push (or any run on a branch) writes the branch and reads it, then the default branch;
 * * a pull request writes its own scope and reads it, then its base branch, then the default
 *   branch, so a pull request never writes where a branch run reads;
 * * triggers that run with the base repository's rights on behalf of someone who may not have
 *   them (`pull_request_target`, `issue_comment`, `workflow_run` of a fork's run) read caches
 *   but never write one: a poisoned entry would be restored by trusted runs later.
 *
 * Scope names: a branch is its own name (`main`, `feature/x`), so `wit-cache --scope main` by
 * hand means the same; a pull request is `pr:N` and a tag `tag:NAME`. Git forbids `:` in
 * branch names, so no branch can share a scope with a pull request or a tag (a branch may well
 * be called `pr-5`, and would then read what pull request 5 wrote).
 */

/** The fields of GitHub's `github` context that scoping reads (others are kept for expressions). */
export interface GitHubContext {
  event_name: string;
  /** `refs/heads/B`, `refs/pull/N/merge`, `refs/tags/T`; empty when the event has no ref. */
  ref: string;
  /** owner/name. */
  repository: string;
  /** The pull request's base branch (pull request events). */
  base_ref?: string;
  head_ref?: string;
  /** The event payload: `repository.default_branch`, `pull_request.number`, `workflow_run.head_repository.full_name`. */
  event?: Record<string, unknown>;
  [name: string]: unknown;
}

export interface ScopePlan {
  /** The scope the run writes (and reads first). */
  scope: string;
  /** The scopes it reads after its own, in order. */
  fallbackScopes: string[];
  /** True when the run may restore but never save. */
  readOnly: boolean;
  /** Why the run is read-only, for the log. */
  readOnlyReason?: string;
}

/** Triggers whose runs are untrusted whatever their branch. */
const UNTRUSTED_EVENTS = new Set(["pull_request_target", "issue_comment"]);

/** The scope of a ref: the branch name, `pr:N`, `tag:T`, or `ref:<ref>` for anything else. */
export function scopeOfRef(ref: string): string {
  if (ref.startsWith("refs/heads/")) return ref.slice("refs/heads/".length);
  const pr = /^refs\/pull\/(\d+)\/(?:merge|head)$/.exec(ref);
  if (pr) return `pr:${pr[1]}`;
  if (ref.startsWith("refs/tags/")) return `tag:${ref.slice("refs/tags/".length)}`;
  return `ref:${ref}`;
}

export function planScopes(github: GitHubContext): ScopePlan {
  const scope = scopeOfRef(github.ref);
  const fallbacks: string[] = [];
  const add = (s: string | undefined) => {
    if (s && s !== scope && !fallbacks.includes(s)) fallbacks.push(s);
  };
  if (github.base_ref && scope.startsWith("pr:")) add(github.base_ref);
  add(defaultBranch(github));

  const reason = untrustedReason(github);
  return reason
    ? { scope, fallbackScopes: fallbacks, readOnly: true, readOnlyReason: reason }
    : { scope, fallbackScopes: fallbacks, readOnly: false };
}

function defaultBranch(github: GitHubContext): string | undefined {
  const repo = field(github.event, "repository");
  const b = field(repo, "default_branch");
  return typeof b === "string" && b !== "" ? b : undefined;
}

function untrustedReason(github: GitHubContext): string | undefined {
  if (UNTRUSTED_EVENTS.has(github.event_name)) {
    return `${github.event_name} runs get read-only caches`;
  }
  if (github.event_name === "workflow_run") {
    const head = field(field(github.event, "workflow_run"), "head_repository");
    const name = field(head, "full_name");
    // A payload without the head repository is treated as a fork's: trust needs proof.
    const own = typeof github.repository === "string" ? github.repository.toLowerCase() : undefined;
    if (typeof name !== "string" || name.toLowerCase() !== own) {
      return "workflow_run runs of a fork's workflow get read-only caches";
    }
  }
  return undefined;
}

function field(o: unknown, name: string): unknown {
  return typeof o === "object" && o !== null ? (o as Record<string, unknown>)[name] : undefined;
}
