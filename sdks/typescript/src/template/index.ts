/**
 * Mustache-compatible prompt templates: a faithful port of the Python engine
 * (`promptops.templating`), held to the same language-neutral cases
 * (`contract/fixtures/render/`).
 *
 * - `{{name}}` inserts a value as is (prompts are not HTML: nothing is escaped; `{{{name}}}`
 *   and `{{&name}}` are synonyms). Names are identifiers or dotted paths (`{{customer.name}}`);
 *   `{{.}}` is the current item.
 * - `{{#name}}...{{/name}}`: a non-empty list repeats it per item (pushed on the context
 *   stack); another truthy value shows it once, pushed; a falsy value hides it.
 *   `{{^name}}...{{/name}}` shows only when the value is falsy or absent.
 * - Falsy: `false`, `null`, an empty list, `""`, `0` (and NaN). `{}` is truthy.
 * - `{{! comment }}` renders nothing. `{{> slug}}` / `{{> slug@3}}` include a partial from the
 *   `partials` map (key `slug` / `slug@3`); one not given is an `UnresolvedPartialError`.
 * - Standalone section, inverted, close, comment and partial tags remove their whole line; a
 *   standalone partial's indentation is prepended to each of its lines.
 * - Refused with a `TemplateSyntaxError` naming line and column: set-delimiter tags,
 *   `{{<` / `{{$`, a `{{` without `}}` and a `}}` without `{{` (`\{{` and `\}}` are literal
 *   braces). A function among the values is a `TemplateRenderError`.
 * - Lookup: the first part of a name in the innermost object of the stack having it (own
 *   properties of plain objects only), then outwards; the other parts in that value only.
 * - `variables`: names a render needs (used outside sections, and top-level section names);
 *   `names`: every first name part looked up (what strict rendering accepts).
 * - A required variable absent, or a name that resolves nowhere when inserted, is a
 *   `MissingVariablesError`; a section whose name resolves nowhere is hidden.
 * - Inserted values: strings as is, `true`/`false`, nothing for `null`, numbers as
 *   JavaScript prints them, lists and objects as compact JSON (`JSON.stringify`).
 *
 * Compiled once: `compileTemplate(source)` memoises templates by source.
 */

import { MissingVariablesError, UnknownVariablesError, UnresolvedPartialError } from "../errors.js";
import { parse, type Node, type Partial } from "./parse.js";
import { formatValue, indentLines, isObject, walk } from "./render.js";

export type { Partial } from "./parse.js";
export { formatValue } from "./render.js";

export interface RenderOptions {
  /** Resolved partial templates by key (`slug` or `slug@3`). */
  partials?: ReadonlyMap<string, Template> | Readonly<Record<string, Template>>;
  /** Refuse values for names no template looks up (default true). */
  strict?: boolean;
}

/** A compiled template: parse once, render many times. */
export class Template {
  readonly source: string;
  readonly nodes: readonly Node[];
  /** Names a render needs: used outside sections, and top-level section names. */
  readonly variables: readonly string[];
  /** Every first name part the template looks up (`variables` first). */
  readonly names: readonly string[];
  /** The `{{> slug}}` tags, in order. */
  readonly partials: readonly Partial[];
  private readonly known: ReadonlySet<string>;

  constructor(source: string) {
    if (typeof source !== "string") throw new TypeError("template must be a string");
    this.source = source;
    const parsed = parse(source);
    this.nodes = parsed.nodes;
    this.variables = Object.freeze(parsed.variables);
    this.names = Object.freeze(parsed.names);
    this.partials = Object.freeze(parsed.partials);
    this.known = new Set(parsed.names);
  }

  /** Render with `values`; every name of `variables` must be given. */
  render(values: Readonly<Record<string, unknown>> = {}, options: RenderOptions = {}): string {
    if (!isObject(values)) throw new TypeError("template values must be an object");
    const missing = this.variables.filter((name) => !Object.prototype.hasOwnProperty.call(values, name));
    if (missing.length) throw new MissingVariablesError(missing);
    const partials = toMap(options.partials);
    let known = this.known;
    if (this.partials.length) known = checkPartials(this, partials ?? new Map());
    const keys = Object.keys(values);
    if ((options.strict ?? true) && keys.length !== this.variables.length) {
      const unknown = keys.filter((k) => !known.has(k)).sort();
      if (unknown.length) throw new UnknownVariablesError(unknown);
    }
    const nodes = this.nodes;
    if (nodes.length === 1 && typeof nodes[0] === "string") return nodes[0];
    const out: string[] = [];
    walk(nodes, [values], out, partials, 0, indented);
    return out.join("");
  }
}

function toMap(
  partials: RenderOptions["partials"],
): ReadonlyMap<string, Template> | undefined {
  if (partials === undefined) return undefined;
  if (partials instanceof Map) return partials;
  return new Map(Object.entries(partials as Record<string, Template>));
}

/** Every partial reachable from `template` is given; the names they all look up. */
function checkPartials(template: Template, partials: ReadonlyMap<string, Template>): Set<string> {
  const known = new Set(template.names);
  const seen = new Set<Template>([template]);
  const todo = [template];
  for (let current = todo.pop(); current !== undefined; current = todo.pop()) {
    for (const partial of current.partials) {
      const included = partials.get(partial.key);
      if (included === undefined) throw new UnresolvedPartialError(partial);
      if (!(included instanceof Template)) {
        throw new TypeError(`partials['${partial.key}'] must be a Template (compileTemplate(text))`);
      }
      if (!seen.has(included)) {
        seen.add(included);
        for (const name of included.names) known.add(name);
        todo.push(included);
      }
    }
  }
  return known;
}

const CACHE_SIZE = 1024;
const cache = new Map<string, Template>();

/** Parse `source` (memoised: the same text is parsed once; the last 1024 are kept). */
export function compileTemplate(source: string): Template {
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  const made = new Template(source);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(source, made);
  return made;
}

function indented(source: string, indent: string): Template {
  return compileTemplate(indentLines(source, indent));
}

/** Parse (memoised) and render `source`. */
export function render(
  source: string,
  values?: Readonly<Record<string, unknown>>,
  options?: RenderOptions,
): string {
  return compileTemplate(source).render(values, options);
}

/** The variable names `source` needs, in order of first use. */
export function variables(source: string): string[] {
  return [...compileTemplate(source).variables];
}

