/** Rendering: walking a node tree, and value formatting (the rules are in ./index.ts). */

import { MissingVariablesError, TemplateRenderError, UnresolvedPartialError } from "../errors.js";
import { MAX_PARTIAL_DEPTH, type Node, type Partial, type VarNode } from "./parse.js";

/** What `{{x}}` does with a name that resolves nowhere. */
const MISS: unique symbol = Symbol("miss");
type Looked = unknown;

/** A JSON object (a mapping): what names are looked up in. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const has = Object.prototype.hasOwnProperty;

function lookup(stack: unknown[], head: string): Looked {
  if (head === ".") return stack[stack.length - 1];
  for (let i = stack.length - 1; i >= 0; i--) {
    const context = stack[i];
    if (isObject(context) && has.call(context, head)) return context[head];
  }
  return MISS;
}

function dig(value: Looked, part: string): Looked {
  if (value !== MISS && isObject(value) && has.call(value, part)) return value[part];
  return MISS;
}

function lambda(name: string): TemplateRenderError {
  return new TemplateRenderError(
    `the value of '${name}' is a function: lambdas are not supported in templates`,
  );
}

function truthy(value: unknown, name: string): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (value === true) return true;
  if (typeof value === "string" || Array.isArray(value)) return value.length > 0;
  if (typeof value === "number") return value !== 0 && !Number.isNaN(value);
  if (typeof value === "function") throw lambda(name);
  return Boolean(value);
}

/** What a section repeats over: the list, the one truthy value, or nothing. */
function items(value: Looked, name: string): readonly unknown[] {
  if (Array.isArray(value)) return value;
  if (value === MISS || !truthy(value, name)) return [];
  return [value];
}

/** Whether an inverted section shows. */
function falsy(value: Looked, name: string): boolean {
  if (value === MISS) return true;
  return !truthy(value, name);
}

/** `value` as a template inserts it: a string as is; nothing for null; true/false; numbers
 * as JavaScript prints them; lists and objects as compact JSON. */
export function formatValue(value: unknown, name = "value"): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean" || typeof value === "number" || typeof value === "bigint") {
    return String(value);
  }
  if (typeof value === "function") throw lambda(name);
  if (typeof value === "object") {
    return JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === "function") throw lambda(name);
      return item;
    });
  }
  return String(value);
}

function missing(node: VarNode, nested: boolean): MissingVariablesError {
  const at = `line ${node.line}, column ${node.column}`;
  return new MissingVariablesError([node.name], `${nested ? "inside a section, " : ""}${at}`);
}

/** A compiled template as the walker needs it (./index.ts's Template). */
export interface Compiled {
  readonly nodes: readonly Node[];
  readonly source: string;
}

export type PartialMap = ReadonlyMap<string, Compiled> | undefined;

export function walk(
  nodes: readonly Node[],
  stack: unknown[],
  out: string[],
  partials: PartialMap,
  depth: number,
  indent: (source: string, indent: string) => Compiled,
): void {
  for (const node of nodes) {
    if (typeof node === "string") {
      out.push(node);
      continue;
    }
    if (node.kind === "partial") {
      include(node.partial, stack, out, partials, depth, indent);
      continue;
    }
    let value = lookup(stack, node.head);
    for (const part of node.rest) value = dig(value, part);
    if (node.kind === "var") {
      if (value === MISS) throw missing(node, stack.length > 1);
      out.push(typeof value === "string" ? value : formatValue(value, node.name));
    } else if (node.kind === "inverted") {
      if (falsy(value, node.name)) walk(node.children, stack, out, partials, depth, indent);
    } else {
      for (const item of items(value, node.name)) {
        stack.push(item);
        walk(node.children, stack, out, partials, depth, indent);
        stack.pop();
      }
    }
  }
}

function include(
  partial: Partial,
  stack: unknown[],
  out: string[],
  partials: PartialMap,
  depth: number,
  indent: (source: string, indent: string) => Compiled,
): void {
  let included = partials?.get(partial.key);
  if (included === undefined) throw new UnresolvedPartialError(partial);
  if (depth >= MAX_PARTIAL_DEPTH) {
    throw new TemplateRenderError(
      `partials nested more than ${MAX_PARTIAL_DEPTH} deep at {{> ${partial.key}}}` +
        ` (line ${partial.line}, column ${partial.column})`,
    );
  }
  if (partial.indent) included = indent(included.source, partial.indent);
  walk(included.nodes, stack, out, partials, depth + 1, indent);
}

// Python's str.splitlines(keepends=True) line boundaries, which the reference engine uses to
// indent a standalone partial.
const LINE = /[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])?/gy;

/** Every line of `source` with `indent` before it. */
export function indentLines(source: string, indent: string): string {
  let out = "";
  LINE.lastIndex = 0;
  while (LINE.lastIndex < source.length) {
    const match = LINE.exec(source);
    if (match === null || match[0] === "") break;
    out += indent + match[0];
  }
  return out;
}
