/** Every case of contract/fixtures/render/ against the template engine. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MissingVariablesError,
  TemplateError,
  TemplateSyntaxError,
  UnknownVariablesError,
  UnresolvedPartialError,
} from "../src/errors.js";
import { Template, compileTemplate, formatValue, render } from "../src/template/index.js";
import { fixtureFiles } from "./support.js";

interface Case {
  name: string;
  template: string;
  data?: Record<string, unknown>;
  partials?: Record<string, string>;
  strict?: boolean;
  variables?: string[];
  expected?: string;
  error?: { kind: string; line?: number; column?: number; names?: string[]; key?: string };
}

const FILES = fixtureFiles<{ cases: Case[] }>("render");

function run(c: Case): string {
  const partials = new Map(
    Object.entries(c.partials ?? {}).map(([key, text]) => [key, compileTemplate(text)]),
  );
  return new Template(c.template).render(c.data ?? {}, { partials, strict: c.strict ?? true });
}

describe("render fixtures", () => {
  it("are all there", () => {
    assert.deepEqual(
      FILES.map(([stem]) => stem),
      ["comments", "delimiters", "interpolation", "inverted", "partials", "promptops", "sections"],
    );
    assert.ok(FILES.reduce((n, [, doc]) => n + doc.cases.length, 0) > 100);
  });

  for (const [stem, doc] of FILES) {
    for (const c of doc.cases) {
      it(`${stem}: ${c.name}`, () => {
        if (c.variables !== undefined) {
          assert.deepEqual([...new Template(c.template).variables], c.variables);
        }
        const error = c.error;
        if (error === undefined) {
          assert.equal(run(c), c.expected);
          assert.equal(run(c), c.expected); // a compiled template renders again the same
          return;
        }
        let caught: unknown;
        try {
          run(c);
        } catch (err) {
          caught = err;
        }
        assert.ok(caught instanceof TemplateError, `expected a ${error.kind} error, got ${String(caught)}`);
        switch (error.kind) {
          case "syntax":
            assert.ok(caught instanceof TemplateSyntaxError, String(caught));
            assert.deepEqual([caught.line, caught.column], [error.line, error.column]);
            assert.match(caught.message, new RegExp(`at line ${error.line}, column ${error.column}$`));
            break;
          case "missing":
            assert.ok(caught instanceof MissingVariablesError, String(caught));
            assert.deepEqual(caught.names, error.names);
            break;
          case "unknown":
            assert.ok(caught instanceof UnknownVariablesError, String(caught));
            assert.deepEqual(caught.names, error.names);
            break;
          case "partial":
            assert.ok(caught instanceof UnresolvedPartialError, String(caught));
            assert.equal(caught.key, error.key);
            break;
          default:
            assert.fail(`unknown error kind ${error.kind}`);
        }
      });
    }
  }
});

describe("template engine", () => {
  it("formats values as the Python engine does", () => {
    assert.equal(formatValue(3), "3");
    assert.equal(formatValue(2.5), "2.5");
    assert.equal(formatValue(1e-7), "1e-7");
    assert.equal(formatValue(1e21), "1e+21");
    assert.equal(formatValue([1, "a", null, { b: true }]), '[1,"a",null,{"b":true}]');
    assert.equal(formatValue(null), "");
    assert.equal(formatValue(false), "false");
  });

  it("refuses functions among the values", () => {
    assert.throws(() => render("{{f}}", { f: () => "x" }), /lambdas are not supported/);
    assert.throws(() => render("{{#f}}x{{/f}}", { f: () => "x" }), /lambdas are not supported/);
  });

  it("compiles a source once", () => {
    assert.equal(compileTemplate("Hi {{name}}"), compileTemplate("Hi {{name}}"));
  });

  it("names the line and column of a syntax error", () => {
    assert.throws(
      () => new Template("one\ntwo {{#a}}"),
      (err: unknown) => err instanceof TemplateSyntaxError && err.line === 2 && err.column === 5,
    );
  });

  it("indents a standalone partial at the line ends the Python engine splits on", () => {
    // Outputs taken from promptops.templating (Python's str.splitlines boundaries).
    const partials = { p: compileTemplate("a\u2028b\r\nc\x85d") };
    assert.equal(render("  {{> p}}\nend", {}, { partials }), "  a\u2028  b\r\n  c\x85  dend");
    assert.equal(
      render("{{n}} {{f}} {{l}}", { n: 1e21, f: 0.1 + 0.2, l: [1.0, 1e-7, { k: null }] }),
      '1e+21 0.30000000000000004 [1,1e-7,{"k":null}]',
    );
  });

  it("looks up own properties only", () => {
    assert.throws(() => render("{{constructor}}", {}), MissingVariablesError);
    assert.equal(render("{{#a}}{{toString}}{{/a}}", { a: { toString: "own" } }, { strict: false }), "own");
  });
});
