/**
 * The wit executor's side of wit-cache: `executeCacheAction` for `uses: actions/cache@v4|v5`
 * and its `restore` / `save` sub-actions, `CacheService` for the settings routers, and the
 * typed binary client both are built on.
 */

export {
  executeCacheAction,
  evaluationScope,
  isSupportedRef,
  parseCacheActionRef,
  type CacheActionOptions,
  type ExecutionContext,
  type JobStatus,
  type PostJobResult,
  type Step,
  type StepLog,
  type StepResult,
} from "./action.js";
export {
  WitCache,
  WitCacheError,
  type Answer,
  type DeleteDocument,
  type EntryDocument,
  type RepoStatsDocument,
  type RestoreDocument,
  type RestoreRequest,
  type SaveDocument,
  type SaveRequest,
  type SortOrder,
  type StatsDocument,
  type WitCacheOptions,
} from "./binary.js";
export {
  ExpressionError,
  evaluateExpression,
  evaluateTemplate,
  splitTemplate,
  type EvaluationScope,
  type Value,
} from "./expressions.js";
export {
  ACTION_INPUTS,
  Inputs,
  ValidationError,
  checkKey,
  isExactKeyMatch,
  type CacheActionKind,
} from "./inputs.js";
export { planScopes, scopeOfRef, type GitHubContext, type ScopePlan } from "./scopes.js";
export {
  CacheService,
  cacheService,
  type CacheEntry,
  type CacheStats,
  type ListOptions,
} from "./service.js";
