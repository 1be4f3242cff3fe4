/**
 * `${{ … }}` in a step's `with:` values, evaluated as the GitHub runner does: a value is cut into
 * literal text and expressions exactly where the runner cuts it (a `'` inside an expression
 * toggles a string, `}}` outside one closes it), each expression is parsed with GitHub's grammar
 * (literals, contexts, `.prop` / `['prop']` / `.*`, `!`, comparisons, `&&`, `||`, function calls)
 * and evaluated with its rules: case-insensitive property names and string comparisons, loose
 * number coercion, `&&` / `||` returning an operand, short-circuits (a `hashFiles()` in the branch
 * not taken is never run).
 *
 * `hashFiles()` is not computed here: the caller supplies it (the binary's `hash-files`).
 */

/** A value an expression can have. */
export type Value =
  null | boolean | number | string | Value[] | { [key: string]: Value } | Filtered;

/** The result of `.*`: an array whose next property access applies to every element. */
class Filtered {
  constructor(readonly items: Value[]) {}
}

/** What a template is evaluated against. */
export interface EvaluationScope {
  /** The contexts by name (`github`, `runner`, `env`, `matrix`, …); names compare case-insensitively. */
  contexts: Readonly<Record<string, unknown>>;
  /** `hashFiles(…)`: the evaluated arguments, each converted to a string. */
  hashFiles(args: string[]): Promise<string>;
}

/** A template or expression that cannot be parsed or evaluated; the message says where and why. */
export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpressionError";
  }
}

const OPEN = "${{";

/**
 * Evaluates a `with:` value: text with `${{ … }}` expressions in it, to the string the action's
 * input gets. A value that is one expression and nothing else keeps the expression's type
 * until it is converted (so `${{ toJSON(github) }}` works and `${{ github }}` is an error).
 */
export async function evaluateTemplate(text: string, scope: EvaluationScope): Promise<string> {
  const segments = splitTemplate(text);
  if (segments.length === 1 && typeof segments[0] !== "string" && segments[0] !== undefined) {
    const v = await evaluateExpression(segments[0].expression, scope);
    if (isObject(v) || Array.isArray(v) || v instanceof Filtered) {
      throw new ExpressionError(
        `${OPEN} ${segments[0].expression} }} is ${Array.isArray(v) || v instanceof Filtered ? "an array" : "an object"}, where a string was expected`,
      );
    }
    return toStr(v);
  }
  let out = "";
  for (const s of segments) {
    out += typeof s === "string" ? s : toStr(await evaluateExpression(s.expression, scope));
  }
  return out;
}

/** Cuts a template into literal strings and expressions, as the runner's template reader does. */
export function splitTemplate(raw: string): (string | { expression: string })[] {
  const segments: (string | { expression: string })[] = [];
  let i = 0;
  let start = raw.indexOf(OPEN);
  while (i < raw.length) {
    if (start < 0) {
      segments.push(raw.slice(i));
      break;
    }
    if (i < start) {
      segments.push(raw.slice(i, start));
      i = start;
      continue;
    }
    let end = -1;
    let inString = false;
    for (i = start + OPEN.length; i < raw.length; i++) {
      // A quote toggles a string; `'it''s'` toggles twice and stays in the string.
      if (raw[i] === "'") inString = !inString;
      else if (!inString && raw[i] === "}" && raw[i - 1] === "}") {
        end = i;
        i++;
        break;
      }
    }
    if (end < 0) {
      throw new ExpressionError(
        "The expression is not closed. An unescaped ${{ sequence was found, but the closing }} sequence was not found.",
      );
    }
    const expression = raw.slice(start + OPEN.length, end - 1).trim();
    if (expression === "") throw new ExpressionError("An expression was expected.");
    segments.push({ expression });
    start = raw.indexOf(OPEN, i);
  }
  return segments;
}

/** Parses and evaluates one expression (the text between `${{` and `}}`). */
export async function evaluateExpression(
  expression: string,
  scope: EvaluationScope,
): Promise<Value> {
  const ast = new Parser(expression).parse();
  return evaluate(ast, scope, expression);
}

// ---------------------------------------------------------------------------------------------
// Lexer

type Token =
  | { kind: "string"; value: string; at: number }
  | { kind: "number"; value: number; at: number }
  | { kind: "word"; value: string; at: number }
  | { kind: "punct"; value: string; at: number };

const PUNCTUATORS = [
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "(",
  ")",
  "[",
  "]",
  ",",
  ".",
  "!",
  "<",
  ">",
  "*",
];
const NUMBER =
  /^(?:-?(?:0x[0-9a-fA-F]+|0o[0-7]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Infinity)|NaN)/;
const WORD = /^[A-Za-z_][A-Za-z0-9_-]*/;

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? "";
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let value = "";
      let j = i + 1;
      for (;;) {
        if (j >= text.length)
          throw syntax(text, i, "Unexpected end of expression: a string is not closed");
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ kind: "string", value, at: i });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    // A number may only start where a value may: `a.0` is a property, `-1` after `(` a number.
    const prev = tokens[tokens.length - 1];
    const valueExpected =
      !prev ||
      (prev.kind === "punct" && prev.value !== ")" && prev.value !== "]" && prev.value !== ".");
    const n = NUMBER.exec(rest);
    if (n && valueExpected && !WORD.test(rest.slice(n[0].length, n[0].length + 1))) {
      tokens.push({ kind: "number", value: parseNumber(n[0]), at: i });
      i += n[0].length;
      continue;
    }
    const w = WORD.exec(rest);
    if (w) {
      tokens.push({ kind: "word", value: w[0], at: i });
      i += w[0].length;
      continue;
    }
    const p = PUNCTUATORS.find((x) => rest.startsWith(x));
    if (!p) throw syntax(text, i, `Unexpected symbol: '${c}'`);
    tokens.push({ kind: "punct", value: p, at: i });
    i += p.length;
  }
  return tokens;
}

function parseNumber(s: string): number {
  const neg = s.startsWith("-");
  const body = neg ? s.slice(1) : s;
  let v: number;
  if (body.startsWith("0x")) v = parseInt(body.slice(2), 16);
  else if (body.startsWith("0o")) v = parseInt(body.slice(2), 8);
  else v = Number(body);
  return neg ? -v : v;
}

function syntax(text: string, at: number, why: string): ExpressionError {
  return new ExpressionError(`${why}. Located at position ${at + 1} within expression: ${text}`);
}

// ---------------------------------------------------------------------------------------------
// Parser

type Node =
  | { kind: "literal"; value: Value }
  | { kind: "context"; name: string; at: number }
  | { kind: "property"; target: Node; name: string }
  | { kind: "index"; target: Node; index: Node }
  | { kind: "filter"; target: Node }
  | { kind: "not"; operand: Node }
  | { kind: "binary"; op: string; left: Node; right: Node }
  | { kind: "call"; name: string; args: Node[]; at: number };

class Parser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(private readonly text: string) {
    this.tokens = lex(text);
  }

  parse(): Node {
    const node = this.or();
    const t = this.tokens[this.pos];
    if (t) throw syntax(this.text, t.at, `Unexpected symbol: '${tokenText(t)}'`);
    return node;
  }

  private peekPunct(...values: string[]): string | undefined {
    const t = this.tokens[this.pos];
    return t?.kind === "punct" && values.includes(t.value) ? t.value : undefined;
  }

  private expect(value: string): void {
    const t = this.tokens[this.pos];
    if (t?.kind !== "punct" || t.value !== value) {
      throw syntax(
        this.text,
        t?.at ?? this.text.length,
        t ? `Unexpected symbol: '${tokenText(t)}'` : "Unexpected end of expression",
      );
    }
    this.pos++;
  }

  private or(): Node {
    let left = this.and();
    while (this.peekPunct("||")) {
      this.pos++;
      left = { kind: "binary", op: "||", left, right: this.and() };
    }
    return left;
  }

  private and(): Node {
    let left = this.equality();
    while (this.peekPunct("&&")) {
      this.pos++;
      left = { kind: "binary", op: "&&", left, right: this.equality() };
    }
    return left;
  }

  private equality(): Node {
    let left = this.comparison();
    for (let op; (op = this.peekPunct("==", "!="));) {
      this.pos++;
      left = { kind: "binary", op, left, right: this.comparison() };
    }
    return left;
  }

  private comparison(): Node {
    let left = this.unary();
    for (let op; (op = this.peekPunct("<", "<=", ">", ">="));) {
      this.pos++;
      left = { kind: "binary", op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    if (this.peekPunct("!")) {
      this.pos++;
      return { kind: "not", operand: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: Node): Node {
    for (;;) {
      if (this.peekPunct(".")) {
        this.pos++;
        const t = this.tokens[this.pos];
        if (t?.kind === "punct" && t.value === "*") {
          this.pos++;
          node = { kind: "filter", target: node };
        } else if (t?.kind === "word") {
          this.pos++;
          node = { kind: "property", target: node, name: t.value };
        } else {
          throw syntax(
            this.text,
            t?.at ?? this.text.length,
            "A property name was expected after '.'",
          );
        }
      } else if (this.peekPunct("[")) {
        this.pos++;
        if (this.peekPunct("*")) {
          this.pos++;
          this.expect("]");
          node = { kind: "filter", target: node };
        } else {
          const index = this.or();
          this.expect("]");
          node = { kind: "index", target: node, index };
        }
      } else {
        return node;
      }
    }
  }

  private primary(): Node {
    const t = this.tokens[this.pos];
    if (!t) throw syntax(this.text, this.text.length, "Unexpected end of expression");
    this.pos++;
    switch (t.kind) {
      case "string":
      case "number":
        return { kind: "literal", value: t.value };
      case "word": {
        if (this.peekPunct("(")) {
          this.pos++;
          const args: Node[] = [];
          if (!this.peekPunct(")")) {
            for (;;) {
              args.push(this.or());
              if (!this.peekPunct(",")) break;
              this.pos++;
            }
          }
          this.expect(")");
          return { kind: "call", name: t.value, args, at: t.at };
        }
        if (t.value === "true") return { kind: "literal", value: true };
        if (t.value === "false") return { kind: "literal", value: false };
        if (t.value === "null") return { kind: "literal", value: null };
        return { kind: "context", name: t.value, at: t.at };
      }
      case "punct":
        if (t.value === "(") {
          const inner = this.or();
          this.expect(")");
          return inner;
        }
        throw syntax(this.text, t.at, `Unexpected symbol: '${t.value}'`);
    }
  }
}

function tokenText(t: Token): string {
  return t.kind === "string" ? `'${t.value}'` : String(t.value);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Fn = (args: Value[], scope: EvaluationScope) => Value | Promise<Value>;

/** The functions a step input may call, with their argument counts (min, max). */
const FUNCTIONS: Record<string, { min: number; max: number; fn: Fn }> = {
  contains: {
    min: 2,
    max: 2,
    fn: ([search, item]) => {
      if (Array.isArray(search)) return search.some((x) => looseEquals(x, item ?? null));
      if (search instanceof Filtered) return search.items.some((x) => looseEquals(x, item ?? null));
      return toStr(search ?? null)
        .toLowerCase()
        .includes(toStr(item ?? null).toLowerCase());
    },
  },
  startswith: {
    min: 2,
    max: 2,
    fn: ([a, b]) =>
      toStr(a ?? null)
        .toLowerCase()
        .startsWith(toStr(b ?? null).toLowerCase()),
  },
  endswith: {
    min: 2,
    max: 2,
    fn: ([a, b]) =>
      toStr(a ?? null)
        .toLowerCase()
        .endsWith(toStr(b ?? null).toLowerCase()),
  },
  format: { min: 1, max: 255, fn: ([f, ...rest]) => format(toStr(f ?? null), rest) },
  join: {
    min: 1,
    max: 2,
    fn: ([a, sep]) => {
      const items = Array.isArray(a) ? a : a instanceof Filtered ? a.items : null;
      const s = sep === undefined ? "," : toStr(sep);
      return items ? items.map((x) => (isPrimitive(x) ? toStr(x) : "")).join(s) : toStr(a ?? null);
    },
  },
  tojson: { min: 1, max: 1, fn: ([v]) => JSON.stringify(plain(v ?? null), null, 2) },
  fromjson: {
    min: 1,
    max: 1,
    fn: ([v]) => {
      const text = toStr(v ?? null);
      try {
        return JSON.parse(text) as Value;
      } catch {
        throw new ExpressionError(`Error parsing fromJson: ${JSON.stringify(text)} is not JSON`);
      }
    },
  },
  hashfiles: {
    min: 1,
    max: 255,
    fn: (args, scope) => scope.hashFiles(args.map((a) => toStr(a))),
  },
};

async function evaluate(node: Node, scope: EvaluationScope, text: string): Promise<Value> {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "context": {
      const found = lookup(scope.contexts as Record<string, unknown>, node.name);
      if (found === undefined) {
        throw syntax(text, node.at, `Unrecognized named-value: '${node.name}'`);
      }
      return toValue(found);
    }
    case "property":
      return member(await evaluate(node.target, scope, text), node.name);
    case "index": {
      const target = await evaluate(node.target, scope, text);
      const index = await evaluate(node.index, scope, text);
      if (Array.isArray(target) || target instanceof Filtered) {
        const items = Array.isArray(target) ? target : target.items;
        const n = toNumber(index);
        return Number.isInteger(n) && n >= 0 && n < items.length ? (items[n] ?? null) : null;
      }
      return typeof index === "string" || typeof index === "number"
        ? member(target, String(index))
        : null;
    }
    case "filter": {
      const target = await evaluate(node.target, scope, text);
      if (Array.isArray(target)) return new Filtered([...target]);
      if (target instanceof Filtered) {
        return new Filtered(
          target.items.flatMap((x) => (Array.isArray(x) ? x : isObject(x) ? Object.values(x) : [])),
        );
      }
      if (isObject(target)) return new Filtered(Object.values(target));
      return new Filtered([]);
    }
    case "not":
      return !truthy(await evaluate(node.operand, scope, text));
    case "binary": {
      const left = await evaluate(node.left, scope, text);
      if (node.op === "&&") return truthy(left) ? evaluate(node.right, scope, text) : left;
      if (node.op === "||") return truthy(left) ? left : evaluate(node.right, scope, text);
      const right = await evaluate(node.right, scope, text);
      switch (node.op) {
        case "==":
          return looseEquals(left, right);
        case "!=":
          return !looseEquals(left, right);
        default:
          return compare(left, right, node.op);
      }
    }
    case "call": {
      const f = FUNCTIONS[node.name.toLowerCase()];
      if (!f) throw syntax(text, node.at, `Unrecognized function: '${node.name}'`);
      if (node.args.length < f.min || node.args.length > f.max) {
        throw syntax(
          text,
          node.at,
          `Function '${node.name}' takes ${f.min === f.max ? f.min : `${f.min} to ${f.max}`} arguments, not ${node.args.length}`,
        );
      }
      const args: Value[] = [];
      for (const a of node.args) args.push(await evaluate(a, scope, text));
      return f.fn(args, scope);
    }
  }
}

/** A property by name, compared case-insensitively as GitHub does (an exact match first). */
function lookup(o: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function member(target: Value, name: string): Value {
  if (target instanceof Filtered) {
    const out: Value[] = [];
    for (const x of target.items) {
      if (isObject(x)) {
        const v = lookup(x, name);
        if (v !== undefined) out.push(toValue(v));
      }
    }
    return new Filtered(out);
  }
  if (!isObject(target)) return null;
  const v = lookup(target, name);
  return v === undefined ? null : toValue(v);
}

/** Brings a context value from the caller's world into an expression value. */
function toValue(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(toValue);
  if (v instanceof Filtered) return v;
  if (typeof v === "object") {
    const out: { [key: string]: Value } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toValue(x);
    return out;
  }
  return null;
}

function plain(v: Value): unknown {
  return v instanceof Filtered ? v.items.map(plain) : v;
}

function isObject(v: unknown): v is { [key: string]: Value } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Filtered);
}

function isPrimitive(v: Value): v is null | boolean | number | string {
  return v === null || typeof v !== "object";
}

function truthy(v: Value): boolean {
  if (v === null || v === false || v === "") return false;
  if (typeof v === "number") return !(v === 0 || Number.isNaN(v));
  return true;
}

/** The string a value becomes in a template, a function argument or an input. */
export function toStr(v: Value): string {
  if (v === null) return "";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Object.is(v, -0) ? "0" : String(v);
  if (typeof v === "string") return v;
  return Array.isArray(v) || v instanceof Filtered ? "Array" : "Object";
}

/** GitHub's number coercion: null → 0, booleans → 1 / 0, strings parsed ('' → 0), others NaN. */
function toNumber(v: Value): number {
  if (v === null) return 0;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim();
    if (t === "") return 0;
    const m = NUMBER.exec(t);
    return m && m[0] === t ? parseNumber(t) : NaN;
  }
  return NaN;
}

function kind(v: Value): string {
  if (v === null) return "null";
  if (Array.isArray(v) || v instanceof Filtered) return "array";
  return typeof v;
}

function looseEquals(a: Value, b: Value): boolean {
  const ka = kind(a);
  if (ka === kind(b)) {
    if (typeof a === "string" && typeof b === "string") return a.toUpperCase() === b.toUpperCase();
    if (ka === "array" || ka === "object") return a === b;
    return a === b;
  }
  const na = toNumber(a);
  const nb = toNumber(b);
  return !Number.isNaN(na) && !Number.isNaN(nb) && na === nb;
}

function compare(a: Value, b: Value, op: string): boolean {
  let c: number;
  if (typeof a === "string" && typeof b === "string") {
    const x = a.toUpperCase();
    const y = b.toUpperCase();
    c = x < y ? -1 : x > y ? 1 : 0;
  } else {
    const x = toNumber(a);
    const y = toNumber(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    c = x < y ? -1 : x > y ? 1 : 0;
  }
  switch (op) {
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    default:
      return c >= 0;
  }
}

/** `format('{0}-{1}', a, b)`: `{{` and `}}` are literal braces, anything else is an error. */
function format(f: string, args: Value[]): string {
  let out = "";
  for (let i = 0; i < f.length;) {
    const c = f[i];
    if (c === "{" && f[i + 1] === "{") {
      out += "{";
      i += 2;
    } else if (c === "}" && f[i + 1] === "}") {
      out += "}";
      i += 2;
    } else if (c === "{") {
      const m = /^\{(\d+)\}/.exec(f.slice(i));
      if (!m) throw new ExpressionError(`The following format string is invalid: ${f}`);
      const n = Number(m[1]);
      if (n >= args.length) {
        throw new ExpressionError(
          `The following format string references more arguments than were supplied: ${f}`,
        );
      }
      out += toStr(args[n] ?? null);
      i += m[0].length;
    } else if (c === "}") {
      throw new ExpressionError(`The following format string is invalid: ${f}`);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
