/**
 * The three actions of actions/cache (v4 and v5 have the same inputs) and their inputs, read as
 * the actions read them: `@actions/core`'s `getInput` (the whole value trimmed, a required
 * input that is empty an error) and actions/cache's own `getInputAsArray` / `getInputAsBool`.
 *
 * Input names compare case-insensitively, as the runner's do (it passes `INPUT_<NAME>` in
 * upper case).
 */

export type CacheActionKind = "cache" | "restore" | "save";

export interface InputDefinition {
  name: string;
  required?: boolean;
  default?: string;
  deprecationMessage?: string;
}

const SAVE_ALWAYS_DEPRECATION =
  "save-always does not work as intended and will be removed in a future release.\n" +
  "A separate `actions/cache/restore` step should be used instead.\n" +
  "See https://github.com/actions/cache/tree/main/save#always-save-cache for more details.\n";

/** The `inputs:` of action.yml, restore/action.yml and save/action.yml, in their order. */
export const ACTION_INPUTS: Record<CacheActionKind, readonly InputDefinition[]> = {
  cache: [
    { name: "path", required: true },
    { name: "key", required: true },
    { name: "restore-keys" },
    { name: "upload-chunk-size" },
    { name: "enableCrossOsArchive", default: "false" },
    { name: "fail-on-cache-miss", default: "false" },
    { name: "lookup-only", default: "false" },
    { name: "save-always", default: "false", deprecationMessage: SAVE_ALWAYS_DEPRECATION },
  ],
  restore: [
    { name: "path", required: true },
    { name: "key", required: true },
    { name: "restore-keys" },
    { name: "enableCrossOsArchive", default: "false" },
    { name: "fail-on-cache-miss", default: "false" },
    { name: "lookup-only", default: "false" },
  ],
  save: [
    { name: "path", required: true },
    { name: "key", required: true },
    { name: "upload-chunk-size" },
    { name: "enableCrossOsArchive", default: "false" },
  ],
};

/** An action's evaluated inputs, by lower-cased name. */
export class Inputs {
  private readonly values = new Map<string, string>();

  constructor(values: Iterable<[string, string]>) {
    for (const [k, v] of values) this.values.set(k.toLowerCase(), v);
  }

  /** `core.getInput`: the value trimmed; "" when absent; an error when required and empty. */
  get(name: string, options: { required?: boolean } = {}): string {
    const val = this.values.get(name.toLowerCase()) ?? "";
    if (options.required && !val) throw new Error(`Input required and not supplied: ${name}`);
    return val.trim();
  }

  /**
   * actions/cache's `getInputAsArray`: one item per line, `!  foo` read as `!foo`, each line
   * trimmed, empty lines dropped. (Unlike `core.getMultilineInput`, which drops empty lines
   * before trimming and so keeps a line of spaces as "".) The whole value is trimmed first, so
   * the `!` rule applies to a first line indented in YAML but not to later indented lines,
   * exactly as in the action.
   */
  array(name: string, options: { required?: boolean } = {}): string[] {
    return this.get(name, options)
      .split("\n")
      .map((s) => s.replace(/^!\s+/, "!").trim())
      .filter((x) => x !== "");
  }

  /** `core.getMultilineInput`, for completeness: split on newlines, drop "", trim each. */
  multiline(name: string, options: { required?: boolean } = {}): string[] {
    return this.get(name, options)
      .split("\n")
      .filter((x) => x !== "")
      .map((x) => x.trim());
  }

  /** actions/cache's `getInputAsBool`: true only for `true` in any case. */
  bool(name: string): boolean {
    return this.get(name).toLowerCase() === "true";
  }
}

/**
 * The runner's checks of a step's `with:` names against the action's inputs: names it does not
 * know and deprecated names the step uses, as the warnings the runner prints.
 */
export function inputWarnings(kind: CacheActionKind, given: readonly string[]): string[] {
  const defs = ACTION_INPUTS[kind];
  const warnings: string[] = [];
  for (const name of given) {
    const def = defs.find((d) => d.name.toLowerCase() === name.toLowerCase());
    if (def?.deprecationMessage) {
      warnings.push(`Input '${name}' has been deprecated with message: ${def.deprecationMessage}`);
    }
  }
  const unexpected = given.filter(
    (n) => !defs.some((d) => d.name.toLowerCase() === n.toLowerCase()),
  );
  if (unexpected.length > 0) {
    warnings.push(
      `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${defs.map((d) => d.name).join("', '")}']`,
    );
  }
  return warnings;
}

/** Thrown for the checks `@actions/cache` makes before it talks to the service (a failed step). */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValidationError";
  }
}

/**
 * `@actions/cache`'s key checks, in its words (length counted in UTF-16 units, as JavaScript
 * does), plus the control characters that the store refuses: a key is one line of text.
 */
export function checkKey(key: string): void {
  if (key.length > 512) {
    throw new ValidationError(`Key Validation Error: ${key} cannot be larger than 512 characters.`);
  }
  if (key.includes(",")) {
    throw new ValidationError(`Key Validation Error: ${key} cannot contain commas.`);
  }
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(key);
  if (control) {
    throw new ValidationError(
      `Key Validation Error: ${JSON.stringify(key)} cannot contain control characters (found ${JSON.stringify(control[0])}).`,
    );
  }
}

export function checkKeys(primaryKey: string, restoreKeys: readonly string[]): void {
  const keys = [primaryKey, ...restoreKeys];
  if (keys.length > 10) {
    throw new ValidationError("Key Validation Error: Keys are limited to a maximum of 10.");
  }
  for (const k of keys) checkKey(k);
}

export function checkPaths(paths: readonly string[]): void {
  if (paths.length === 0) {
    throw new ValidationError(
      "Path Validation Error: At least one directory or file path is required",
    );
  }
}

/** actions/cache's `isExactKeyMatch`: equal ignoring case but not accents, by `localeCompare`. */
export function isExactKeyMatch(key: string, cacheKey: string | undefined): boolean {
  return !!cacheKey && cacheKey.localeCompare(key, undefined, { sensitivity: "accent" }) === 0;
}
