"""promptops.templating: the rules the language-neutral fixtures cannot hold (Python values,
functions, the render hook for partials, error texts, compile-once), and a few they do,
spelled out."""

from __future__ import annotations

import enum
from collections import ChainMap, OrderedDict
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptops.errors import (
    MissingVariablesError,
    TemplateError,
    TemplateRenderError,
    TemplateSyntaxError,
    UnknownVariablesError,
    UnresolvedPartialError,
)
from promptops.sdk.prompt import Prompt
from promptops.templating import Partial, Template, compile_template, format_value, render


def syntax_error(source: str) -> TemplateSyntaxError:
    with pytest.raises(TemplateSyntaxError) as caught:
        Template(source)
    return caught.value


# -- variables ---------------------------------------------------------------------------


def test_variables_are_top_level_names_and_section_names() -> None:
    template = Template(
        "{{greeting}} {{customer.name}}\n{{#orders}}{{id}} {{customer.name}}{{/orders}}"
        "{{^vip}}{{#notes}}{{text}}{{/notes}}{{/vip}}{{! a comment naming nothing }}{{.}}"
    )
    assert template.variables == ("greeting", "customer", "orders", "vip")
    # names inside sections are known (strict rendering accepts them) but not required
    assert template.names == ("greeting", "customer", "orders", "id", "vip", "notes", "text")


def test_required_variables_and_strictness() -> None:
    template = Template("{{#items}}{{title}} {{sep}}{{/items}}")
    with pytest.raises(MissingVariablesError) as caught:
        template.render({})
    assert caught.value.names == ["items"]
    # sep is looked up inside the section: given at the top level it is not unknown
    assert template.render({"items": [{"title": "a"}], "sep": ";"}) == "a ;"
    with pytest.raises(UnknownVariablesError) as unknown:
        template.render({"items": [], "titel": 1})
    assert unknown.value.names == ["titel"]
    assert template.render({"items": [], "titel": 1}, strict=False) == ""


def test_a_name_missing_inside_a_section_names_the_tag() -> None:
    template = Template("x\n{{#items}}\n  {{title}}\n{{/items}}")
    with pytest.raises(MissingVariablesError) as caught:
        template.render({"items": [{"name": "a"}]})
    assert caught.value.names == ["title"]
    assert str(caught.value) == (
        "missing template variable(s): title (inside a section, line 3, column 3)"
    )
    # an empty list never looks it up
    assert template.render({"items": []}) == "x\n"


def test_dotted_names_and_the_context_stack() -> None:
    template = Template("{{#a}}{{b.c}}|{{#b}}{{c}}{{d}}{{/b}}|{{top}}{{/a}}")
    values = {"a": {"b": {"c": "1", "d": "2"}}, "top": "T"}
    assert template.render(values) == "1|12|T"
    # the first part resolves up the stack, the rest only in what it found
    with pytest.raises(MissingVariablesError):
        Template("{{#a}}{{b.c}}{{/a}}").render({"a": {"b": {}}, "b": {"c": "no"}})
    # a value that is not an object has no names: lookups go outwards
    assert Template("{{#n}}{{.}}{{x}}{{/n}}").render({"n": 5, "x": "!"}) == "5!"


def test_any_mapping_works_at_every_level() -> None:
    template = Template("{{a}}{{#s}}{{b}}{{c.d}}{{a}}{{/s}}")
    values = ChainMap({"a": "1"}, {"s": [MappingProxyType({"b": "2"}), OrderedDict(b="3")]})
    values["c"] = MappingProxyType({"d": "4"})
    assert template.render(values) == "1241" + "341"


def test_values_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping, not list"):
        Template("x").render(["a"])  # type: ignore[arg-type]


# -- sections and whitespace -------------------------------------------------------------


def test_sections_lists_truthy_falsy_and_inverted() -> None:
    template = Template("{{#v}}[{{.}}]{{/v}}{{^v}}-{{/v}}")
    shown = {
        "list": ([1, "a"], "[1][a]"),
        "tuple": (("x",), "[x]"),
        "true": (True, "[true]"),
        "string": ("s", "[s]"),
        "number": (2, "[2]"),
        "empty object": ({}, "[{}]"),
    }
    for value, expected in shown.values():
        assert template.render({"v": value}) == expected
    for hidden in (False, None, "", 0, 0.0, float("nan"), []):
        assert template.render({"v": hidden}) == "-", hidden


def test_standalone_tag_lines_are_removed() -> None:
    source = (
        "Orders:\n  {{#orders}}\n  - {{.}}\n  {{/orders}}\n  {{^orders}}\n  none\n  {{/orders}}\n"
    )
    source += "  {{! a comment }}\nEnd {{#x}}inline{{/x}}\n"
    template = Template(source)
    assert (
        template.render({"orders": ["a", "b"], "x": True}) == "Orders:\n  - a\n  - b\nEnd inline\n"
    )
    assert template.render({"orders": [], "x": False}) == "Orders:\n  none\nEnd \n"


def test_sections_nest_up_to_sixteen_deep() -> None:
    deep = "".join(f"{{{{#s{i}}}}}" for i in range(16)) + "{{x}}"
    deep += "".join(f"{{{{/s{i}}}}}" for i in reversed(range(16)))
    values: dict[str, Any] = {f"s{i}": True for i in range(16)}
    assert Template(deep).render({**values, "x": "deep"}) == "deep"
    error = syntax_error("{{#a}}" + deep + "{{/a}}")
    assert error.reason == "sections are nested more than 16 deep"
    assert (error.line, error.column) == (1, 1 + len("{{#a}}") + 15 * len("{{#sN}}") + 5)
    # inverted sections do not count
    assert Template("{{^a}}" * 20 + "x" + "{{/a}}" * 20).render({"a": False}) == "x"


# -- refused Mustache features -----------------------------------------------------------


def test_set_delimiter_tags_are_refused_with_line_and_column() -> None:
    error = syntax_error("Hello\n  {{=<% %>=}}\n<%name%>")
    assert (error.line, error.column) == (2, 3)
    assert "set-delimiter tags like '{{=<% %>=}}' are not supported" in str(error)
    assert str(error).endswith("at line 2, column 3")


def test_functions_in_values_are_refused_at_render() -> None:
    def shout(text: str) -> str:
        return text.upper()

    cases = [
        ("{{f}}", {"f": shout}),
        ("{{#f}}x{{/f}}", {"f": shout}),
        ("{{^f}}x{{/f}}", {"f": lambda: None}),
        ("{{l}}", {"l": [1, {"g": shout}]}),
        ("{{#l}}{{.}}{{/l}}", {"l": [str.upper]}),
    ]
    for source, values in cases:
        with pytest.raises(TemplateRenderError, match="lambdas are not supported"):
            Template(source).render(values)


# -- formatting --------------------------------------------------------------------------


class Colour(enum.IntEnum):
    RED = 1


class Tone(enum.StrEnum):
    WARM = "warm"


def test_python_values_are_formatted_like_their_json_counterparts() -> None:
    assert format_value((1, 2.0, "a")) == '[1,2,"a"]'
    assert format_value({1: float("inf"), "k": (None,)}) == '{"1":null,"k":[null]}'
    assert format_value(float("nan")) == "NaN"
    assert format_value(float("-inf")) == "-Infinity"
    assert format_value(-0.0) == "0"
    assert format_value(123456789012345680000.0) == "123456789012345680000"
    assert format_value(1.23e-5) == "0.0000123"
    assert format_value(1.5e-7) == "1.5e-7"
    assert format_value(Colour.RED) == "1"
    assert format_value(Tone.WARM) == "warm"
    assert format_value(Decimal("1.50")) == "1.50"  # other objects: str()
    assert format_value({"d": Decimal("2")}) == '{"d":"2"}'


# -- escapes and errors kept from the first syntax ---------------------------------------


def test_brace_escapes_are_kept() -> None:
    template = Template('Reply as JSON: \\{{"answer": "{{answer}}"\\}}')
    assert template.variables == ("answer",)
    assert template.render({"answer": "yes"}) == 'Reply as JSON: {{"answer": "yes"}}'


@pytest.mark.parametrize(
    ("source", "reason", "where"),
    [
        ("Hello {{name", "'{{' is not closed by '}}'", (1, 7)),
        ("ok\n}}", "'}}' without a matching '{{'", (2, 1)),
        ("{{}}", "empty variable name in '{{}}'", (1, 1)),
        ("{{#a}}\n{{/b}}", "'{{/b}}' does not close '{{#a}}' (opened at line 1, column 1)", (2, 1)),
        ("x {{/a}}", "'{{/a}}' without a section to close", (1, 3)),
        ("\n {{#a}}", "section '{{#a}}' is not closed", (2, 2)),
        ("{{{a}}", "'{{{' is not closed by '}}}'", (1, 1)),
        ("{{> Big}}", "invalid partial 'Big'", (1, 1)),
        ("{{$block}}", "'{{$' (template inheritance) is not supported", (1, 1)),
    ],
)
def test_syntax_errors_say_what_and_where(source: str, reason: str, where: tuple[int, int]) -> None:
    error = syntax_error(source)
    assert error.reason.startswith(reason)
    assert (error.line, error.column) == where


# -- partials ----------------------------------------------------------------------------


def test_partials_parse_with_slug_version_and_place() -> None:
    template = Template("Hi {{> intro}}\n  {{> footer@3}}\n")
    assert template.partials == (
        Partial("intro", None, 1, 4),
        Partial("footer", 3, 2, 3, indent="  "),
    )
    assert [p.key for p in template.partials] == ["intro", "footer@3"]
    assert template.variables == ()


def test_the_render_hook_renders_partials_in_the_current_context() -> None:
    card = Template("* {{name}}{{#tags}} #{{.}}{{/tags}}\n{{> sig}}")
    page = Template("People:\n  {{> card@2}}\n{{#people}}\n  {{> card@2}}\n{{/people}}")
    partials = {"card@2": card, "sig": Template("  -- {{who}}\n")}
    values = {"name": "Top", "tags": [], "who": "me", "people": [{"name": "A", "tags": ["x"]}]}
    assert page.render(values, partials) == ("People:\n  * Top\n    -- me\n  * A #x\n    -- me\n")


def test_an_unresolved_partial_is_refused_before_rendering() -> None:
    template = Template("a\n{{#never}}{{> intro@2}}{{/never}}")
    with pytest.raises(UnresolvedPartialError) as caught:
        template.render({"never": False})
    exc = caught.value
    assert (exc.slug, exc.version, exc.partial.line, exc.partial.column) == ("intro", 2, 2, 11)
    assert str(exc) == (
        "partial '{{> intro@2}}' at line 2, column 11 is not resolved (partials are resolved"
        " by the server)"
    )
    with pytest.raises(UnresolvedPartialError):  # an unpinned one does not stand in
        template.render({"never": False}, {"intro": Template("x")})


def test_partials_must_be_compiled_templates() -> None:
    with pytest.raises(TypeError, match=r"partials\['intro'\] must be a Template"):
        Template("{{> intro}}").render({}, {"intro": "text"})  # type: ignore[dict-item]


def test_recursive_partials_end_with_the_data_or_at_a_depth_limit() -> None:
    node = Template("{{name}}({{#kids}}{{> node}}{{/kids}})")
    tree = {"name": "a", "kids": [{"name": "b", "kids": [{"name": "c", "kids": []}]}]}
    assert node.render(tree, {"node": node}) == "a(b(c()))"
    loop = Template("{{> loop}}")
    with pytest.raises(TemplateRenderError, match="partials nested more than 32 deep"):
        loop.render({}, {"loop": loop})


# -- compile once ------------------------------------------------------------------------


def test_templates_are_compiled_once_and_rendering_reuses_the_compiled_form() -> None:
    source = "{{#xs}}{{.}},{{/xs}} {{y}}"
    template = compile_template(source)
    assert compile_template(source) is template
    assert render(source, {"xs": [1, 2], "y": "z"}) == "1,2, z"
    assert template._render is None  # the first render walks the node list
    assert template.render({"xs": [], "y": ""}) == " "
    function = template._render  # the second made the render function, kept for later ones
    assert function is not None
    assert template.render({"xs": [3], "y": "!"}) == "3, !"
    assert template._render is function


def test_huge_templates_are_always_walked() -> None:
    template = Template("{{#xs}}{{.}}{{/xs}}" + "{{y}}" * 1000)
    for _ in range(3):
        assert template.render({"xs": [1], "y": "."}) == "1" + "." * 1000
    assert template._render is None


ODD = st.sampled_from(['"', "'", "\\", "\x00", "\n", "\r", "\t", "\ud800"])


@given(st.text(alphabet=st.characters(blacklist_characters="{}", codec="utf-8") | ODD))
def test_text_without_braces_renders_as_itself(text: str) -> None:
    assert Template(text).render({}) == text
    section = Template("[{{#a}}]" + text + "[{{/a}}]" + text)
    for _ in range(2):  # walked, then generated: literal text survives both
        assert section.render({"a": True}) == "[]" + text + "[]" + text


@given(st.text(alphabet=st.sampled_from("{}#^/!>&.ab \n\\=")))
def test_any_text_either_compiles_and_renders_or_is_a_template_error(text: str) -> None:
    try:
        template = Template(text)
    except TemplateSyntaxError:
        return
    values = dict.fromkeys(template.names, "v")
    outcomes = []
    for _ in range(2):  # walked, then generated: the same outcome
        try:
            outcomes.append(template.render(values))
        except TemplateError as exc:
            outcomes.append(type(exc).__name__ + ": " + str(exc))
    assert outcomes[0] == outcomes[1]


# -- the SDK's Prompt --------------------------------------------------------------------


def test_prompt_render_accepts_names_used_inside_sections() -> None:
    prompt = Prompt(
        slug="p",
        version=1,
        system_prompt="{{#rules}}- {{.}} ({{tone}})\n{{/rules}}",
        user_template="{{question}}",
    )
    assert prompt.variables == ("rules", "question")
    messages = prompt.render(rules=["short"], question="Q?", tone="kind")
    assert messages[0]["content"] == "- short (kind)\n"
    with pytest.raises(UnknownVariablesError):
        prompt.render(rules=[], question="Q?", tnoe="kind")
