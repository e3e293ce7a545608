/** Parsing: template text to a node tree (the rules are in ./index.ts). */

import { TemplateSyntaxError } from "../errors.js";

const TOKEN = /\\\{\{|\\\}\}|\{\{|\}\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const PARTIAL = /^([a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?)(?:@([1-9][0-9]{0,8}))?$/;
const MAX_NAME = 128;
export const MAX_SECTION_DEPTH = 16;
export const MAX_PARTIAL_DEPTH = 32;

/** A `{{> slug}}` or `{{> slug@3}}` tag; `indent` is the whitespace before a standalone
 * tag (prepended to each line of the partial), else "". */
export interface Partial {
  readonly slug: string;
  readonly version: number | undefined;
  readonly line: number;
  readonly column: number;
  readonly indent: string;
  /** The key of this partial in the `partials` given to render: "slug" or "slug@3". */
  readonly key: string;
}

export interface VarNode {
  readonly kind: "var";
  readonly head: string;
  readonly rest: readonly string[];
  readonly name: string;
  readonly line: number;
  readonly column: number;
}

export interface SectionNode {
  readonly kind: "section" | "inverted";
  readonly head: string;
  readonly rest: readonly string[];
  readonly name: string;
  readonly children: Node[];
}

export interface PartialNode {
  readonly kind: "partial";
  readonly partial: Partial;
}

export type Node = string | VarNode | SectionNode | PartialNode;

function where(source: string, pos: number): { line: number; column: number } {
  let line = 1;
  for (let i = source.indexOf("\n"); i !== -1 && i < pos; i = source.indexOf("\n", i + 1)) line++;
  const column = pos - (pos === 0 ? 0 : source.lastIndexOf("\n", pos - 1) + 1) + 1;
  return { line, column };
}

function syntaxError(source: string, pos: number, message: string): TemplateSyntaxError {
  return new TemplateSyntaxError(message, { position: pos, ...where(source, pos) });
}

function quote(text: string): string {
  return `'${text.slice(0, 40)}'`;
}

function tagText(sigil: string, name: string): string {
  return `'{{${sigil}${name.slice(0, 40)}}}'`;
}

function checkName(source: string, pos: number, name: string, what: string): void {
  if (name === ".") return;
  if (!name) throw syntaxError(source, pos, `empty ${what} name in '{{}}'`);
  if (name.length > MAX_NAME || !NAME.test(name)) {
    throw syntaxError(
      source,
      pos,
      `invalid ${what} name ${quote(name)} (use letters, digits and _, not starting with` +
        " a digit; dotted paths like a.b)",
    );
  }
}

const BLANK = /^[ \t]*$/;

/** For a tag at source[start, end) alone on its line: [indentation, where the next line
 * starts]; else undefined. */
function standalone(source: string, start: number, end: number): [string, number] | undefined {
  const lineStart = start === 0 ? 0 : source.lastIndexOf("\n", start - 1) + 1;
  const before = source.slice(lineStart, start);
  if (!BLANK.test(before)) return undefined;
  const newline = source.indexOf("\n", end);
  let after = newline === -1 ? source.slice(end) : source.slice(end, newline);
  if (newline !== -1 && after.endsWith("\r")) after = after.slice(0, -1);
  if (!BLANK.test(after)) return undefined;
  return [before, newline === -1 ? source.length : newline + 1];
}

interface Open {
  name: string;
  start: number;
  parent: Node[];
  loop: boolean;
}

export interface Parsed {
  nodes: Node[];
  variables: string[];
  names: string[];
  partials: Partial[];
}

/** One pass over the source building the node tree and the name lists. */
export function parse(source: string): Parsed {
  const variables = new Set<string>();
  const names = new Set<string>();
  const partials: Partial[] = [];
  const root: Node[] = [];
  let nodes = root;
  const opened: Open[] = [];
  let literal: string[] = [];
  let lineCache = { pos: 0, line: 1, lineStart: 0 };

  const at = (pos: number): { line: number; column: number } => {
    // Line and column of pos, counting on from the last tag (tags come in order).
    if (pos < lineCache.pos) return where(source, pos);
    let { line, lineStart } = lineCache;
    for (let i = source.indexOf("\n", lineCache.pos); i !== -1 && i < pos; i = source.indexOf("\n", i + 1)) {
      line++;
      lineStart = i + 1;
    }
    lineCache = { pos, line, lineStart };
    return { line, column: pos - lineStart + 1 };
  };

  const flush = (): void => {
    const text = literal.join("");
    literal = [];
    if (text) nodes.push(text);
  };

  const open = (start: number, name: string, sigil: string): void => {
    const section = sigil === "#" || sigil === "^";
    checkName(source, start, name, section ? "section" : "variable");
    let head = ".";
    let rest: string[] = [];
    if (name !== ".") {
      const parts = name.split(".");
      head = parts[0] as string;
      rest = parts.slice(1);
      if (opened.length === 0) variables.add(head);
      names.add(head);
    }
    const { line, column } = at(start);
    if (!section) {
      nodes.push({ kind: "var", head, rest, name, line, column });
      return;
    }
    if (sigil === "#" && opened.filter((o) => o.loop).length >= MAX_SECTION_DEPTH) {
      throw syntaxError(source, start, `sections are nested more than ${MAX_SECTION_DEPTH} deep`);
    }
    const children: Node[] = [];
    nodes.push({ kind: sigil === "#" ? "section" : "inverted", head, rest, name, children });
    opened.push({ name, start, parent: nodes, loop: sigil === "#" });
    nodes = children;
  };

  const close = (start: number, name: string): void => {
    const top = opened.pop();
    if (top === undefined) {
      throw syntaxError(source, start, `${tagText("/", name)} without a section to close`);
    }
    if (name !== top.name) {
      const { line, column } = where(source, top.start);
      throw syntaxError(
        source,
        start,
        `${tagText("/", name)} does not close ${tagText("#", top.name)} (opened at line` +
          ` ${line}, column ${column})`,
      );
    }
    nodes = top.parent;
  };

  const partial = (start: number, ref: string, indent: string): Partial => {
    const match = PARTIAL.exec(ref);
    if (match === null) {
      throw syntaxError(
        source,
        start,
        `invalid partial ${quote(ref)} (use '{{> slug}}' or '{{> slug@3}}' with a` +
          " prompt slug: lowercase letters, digits, - and _)",
      );
    }
    const { line, column } = at(start);
    const slug = match[1] as string;
    const version = match[2] ? Number(match[2]) : undefined;
    const key = version === undefined ? slug : `${slug}@${version}`;
    const made: Partial = { slug, version, line, column, indent, key };
    partials.push(made);
    return made;
  };

  const tag = (start: number): number => {
    const triple = source.startsWith("{", start + 2);
    const inner = triple ? start + 3 : start + 2;
    const closeAt = source.indexOf("}}", inner);
    const next = source.indexOf("{{", inner);
    if (closeAt === -1 || (next !== -1 && next < closeAt)) {
      throw syntaxError(source, start, "'{{' is not closed by '}}'");
    }
    let end = closeAt + 2;
    if (triple) {
      if (!source.startsWith("}", end)) throw syntaxError(source, start, "'{{{' is not closed by '}}}'");
      end += 1;
    }
    const content = source.slice(inner, closeAt).trim();
    const sigil = triple ? "{" : content.slice(0, 1);
    let indent = "";
    let pos = end;
    if (sigil && "#^/!>".includes(sigil)) {
      const alone = standalone(source, start, end);
      if (alone !== undefined) {
        [indent, pos] = alone;
        if (indent) {
          const last = literal.length - 1;
          literal[last] = (literal[last] as string).slice(0, -indent.length);
        }
      }
    }
    flush();
    if (sigil === "=") {
      throw syntaxError(
        source,
        start,
        `set-delimiter tags like ${quote(source.slice(start, end))} are not supported` +
          " (write literal braces as \\{{ and \\}})",
      );
    }
    if (sigil && "<$".includes(sigil)) {
      throw syntaxError(source, start, `'{{${sigil}' (template inheritance) is not supported`);
    }
    const name = sigil && "#^/>&!".includes(sigil) ? content.slice(1).trim() : content;
    if (sigil === ">") nodes.push({ kind: "partial", partial: partial(start, name, indent) });
    else if (sigil === "/") close(start, name);
    else if (sigil !== "!") open(start, name, sigil);
    return pos;
  };

  let pos = 0;
  TOKEN.lastIndex = 0;
  for (;;) {
    TOKEN.lastIndex = pos;
    const match = TOKEN.exec(source);
    if (match === null) break;
    const start = match.index;
    const token = match[0];
    literal.push(source.slice(pos, start));
    if (token === "\\{{" || token === "\\}}") {
      literal.push(token.slice(1));
      pos = start + token.length;
    } else if (token === "}}") {
      throw syntaxError(source, start, "'}}' without a matching '{{'");
    } else {
      pos = tag(start);
    }
  }
  literal.push(source.slice(pos));
  const top = opened[opened.length - 1];
  if (top !== undefined) {
    throw syntaxError(source, top.start, `section ${tagText("#", top.name)} is not closed`);
  }
  flush();
  return { nodes: root, variables: [...variables], names: [...names], partials };
}
