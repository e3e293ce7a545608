"""A deterministic corpus of bad inputs for ``test_fuzz_corpus``: every value is sent to
every kind of input (JSON body fields, query parameters, path parameters, dashboard forms
and filters). ``VALUES`` are Python values (a :class:`Raw` is a JSON fragment written as
is, e.g. ``NaN`` or ``1e999``); ``BODIES`` are whole request bodies with a content type.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote


class Raw(str):
    """A JSON fragment sent verbatim in a body (not valid strict JSON, or not a str)."""


def _nested_dict(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"d": value}
    return value


def _nested_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


NUL = [
    "\x00",
    "\x00" * 16,
    "a\x00",
    "\x00a",
    "a\x00b",
    "greeting\x00",
    "dev\x00",
    "production\x00",
    "po_live_\x00",
    "\x00' OR 1=1 --",
    "x" * 99 + "\x00",
    "\\u0000",  # the escape as literal text: valid
    "%00",  # percent-encoded NUL as literal text in a body; a NUL in a URL
    "\x00\x00\x00\x01\x02\x03",
]
CONTROL = ["\x01", "\x07", "\x08", "\x1b[31mred", "\x7f", "\r\n", "\n", "\t", "\x0b\x0c", "\x85"]
SURROGATES = [
    "\ud800",
    "\udfff",
    "\udc00",
    "a\ud800b",
    "\ud83c",  # half a pair
    "\udf89\ud83c",  # a pair in the wrong order
    "\ud800\ud800",
    "x" * 50 + "\udbff",
]
NUMBERS: list[Any] = [
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("1e999"),
    Raw("-1e999"),
    Raw("1" + "0" * 5000),
    Raw("-0"),
    Raw("0.0000000000000000000000001"),
    float("1e308"),
    -1,
    0,
    -(2**63),
    2**31,
    2**31 - 1,
    2**63,
    2**64,
    10**20,
    10**100,
    1.5,
    -0.5,
    3.0,
    1e-300,
    True,
    False,
]
NESTED: list[Any] = [
    _nested_dict(33),
    _nested_dict(100),
    _nested_list(33),
    _nested_list(500),
    Raw("[" * 5000 + "]" * 5000),
    Raw('{"a":' * 5000 + "1" + "}" * 5000),
    {"a": {"b": {"c": [float("nan")]}}},
    {"\x00": "key with NUL"},
    {"k": "\ud800"},
    [{"x": None}] * 50,
]
HUGE = [
    "x" * 101,
    "x" * 201,
    "x" * 1001,
    "x" * 5001,
    "x" * 65_536,
    "x" * 200_001,
    "é" * 70_000,
    "🎉" * 60_000,
    " " * 10_000,
    "a" * 1_500_000,  # over the body limit: 413
]
WRONG_TYPES: list[Any] = [
    None,
    [],
    {},
    ["x"],
    [1, 2, 3],
    {"a": "b"},
    [None],
    [[]],
    {"": ""},
    Raw("null"),
]
EMPTY = ["", " ", "   ", "\t", "\n", "\u00a0", "\u3000", "\u200b", "\ufeff", " x ", "\u2028"]
UNICODE = [
    "\u202eevil\u202c",
    "\u0301",
    "e\u0301\u0302\u0303\u0304",
    "🎉",
    "👩‍👩‍👧‍👦",
    "\U0010ffff",
    "\ufffd",
    "\ufffe\uffff",
    "ＧＲＥＥＴＩＮＧ",  # fullwidth
    "ǵreeting",
    "greetıng",  # dotless i
    "ＤＥＶ",
    "\u0440rompt",  # Cyrillic er
    "ﬁ",
    "İ",
    "ß",
    "\U0001f600" * 100,
    "مرحبا",
    "עברית",
    "𝔤𝔯𝔢𝔢𝔱",
]
INJECTION = [
    "' OR 1=1 --",
    '" OR ""="',
    "'; DROP TABLE prompts; --",
    "1; DELETE FROM api_keys",
    "') UNION SELECT * FROM api_keys --",
    "%",
    "_",
    "%%",
    "\\",
    "\\%",
    "*",
    "$1",
    ":name",
    "?",
    "{{ 7*7 }}",
    "{{",
    "}}",
    "{% for x in y %}",
    "{{ config.__class__ }}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    '"><img src=x onerror=alert(1)>',
    "../../etc/passwd",
    "..\\..\\windows",
    "/etc/passwd",
    "file:///etc/passwd",
    "http://127.0.0.1:1/",
    "http://169.254.169.254/latest",
    "$(reboot)",
    "`id`",
    "|| ls",
    "\"; import os; os.system('id')",
    "__proto__",
    "constructor",
    "null",
    "undefined",
    "None",
    "true",
    "NaN",
]
SLUGS = [
    "Greeting",
    "GREETING",
    "greeting ",
    " greeting",
    "greet ing",
    "greet/ing",
    "greet.ing",
    "..",
    ".",
    "-",
    "_",
    "--",
    "a" * 101,
    "a" * 10_000,
    "ab%2Fcd",
    "greeting;",
    "greeting?x=1",
    "greeting#x",
    "greeting\\",
    "greeting'",
    'greeting"',
    "grëeting",
    "active",
    "versions",
]
CURSORS = [
    "-1",
    "0",
    "abc",
    "1.5",
    "1e5",
    "0x10",
    "99999999999999999999999",
    "9" * 400,
    "MTIz",  # base64 of 123
    "eyJpZCI6MX0=",  # base64 JSON
    "1,2",
    "1 OR 1=1",
    "+1",
    " 1",
    "١٢٣",  # Arabic-Indic digits
    "１２３",  # fullwidth digits
]
ENVIRONMENTS = [
    "qa",
    "Dev",
    "DEV",
    "prod",
    "Production",
    "dev ",
    " dev",
    "dev,staging",
    "*",
    "all",
    "dev staging",
    "ｄｅｖ",
    "staging\n",
]
IDS = [
    "po_live_",
    "po_live_" + "a" * 200,
    "po_user_x",
    "wh_",
    "wh_" + "z" * 100,
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "ffffffff-ffff-ffff-ffff-ffffffffffff-extra",
    "p_" + "x" * 64,
    "@",
    "a@",
    "@b",
    "a@b@c",
    "x@" + "y" * 300 + ".com",
    "a@b\x00.com",
    "2026-13-45",
    "2026-02-30T25:61:61Z",
    "0000-00-00",
    "9999-12-31T23:59:59.999999999+99:99",
    "yesterday",
    "-1-01-01",
]
BOOLS: list[Any] = ["yes", "no", "1", "0", "True", "on", "", 2, -1, Raw('"true"')]

# Generated families: each limit of the contract (max lengths) at, just under and just
# over it, in one- and two-byte characters; identifiers with a bad character appended;
# integers at the edges of 32- and 64-bit columns; injection strings with a NUL.
_LIMITS = [63, 64, 65, 99, 100, 101, 199, 200, 201, 253, 254, 255, 1999, 2000, 2001, 5000, 5001]
LENGTHS = [c * n for n in _LIMITS for c in ("x", "é")]
SUFFIXED = [
    base + bad
    for base in ("greeting", "dev", "po_live_abcd1234", "wh_abc", "p_abc", "a@b.co")
    for bad in ("\x00", "\ud800", "\n", " ", "%", "/")
]
INTEGERS: list[Any] = [
    sign * (2**bits + delta) for bits in (31, 62, 63) for delta in (-1, 0, 1) for sign in (1, -1)
]
INJECTION_NUL = [text + "\x00" for text in INJECTION]

VALUES: list[Any] = [
    *LENGTHS,
    *SUFFIXED,
    *INTEGERS,
    *INJECTION_NUL,
    *NUL,
    *CONTROL,
    *SURROGATES,
    *NUMBERS,
    *NESTED,
    *HUGE,
    *WRONG_TYPES,
    *EMPTY,
    *UNICODE,
    *INJECTION,
    *SLUGS,
    *CURSORS,
    *ENVIRONMENTS,
    *IDS,
    *BOOLS,
]

JSON = "application/json"
BODIES: list[tuple[str, bytes, str]] = [
    ("empty", b"", JSON),
    ("null", b"null", JSON),
    ("list", b"[]", JSON),
    ("list-of-object", b"[{}]", JSON),
    ("string", b'"x"', JSON),
    ("number", b"1", JSON),
    ("true", b"true", JSON),
    ("truncated", b'{"name": "x"', JSON),
    ("brace", b"{", JSON),
    ("close-brace", b"}", JSON),
    ("single-quotes", b"{'name': 'x'}", JSON),
    ("trailing-garbage", b'{"name": "x"} x', JSON),
    ("two-objects", b'{"a": 1}{"b": 2}', JSON),
    ("trailing-comma", b'{"name": "x",}', JSON),
    ("comment", b'{"name": "x" /* c */}', JSON),
    ("not-utf8", b"\xff\xfe\xfa", JSON),
    ("utf16", '{"name": "x"}'.encode("utf-16"), JSON),
    ("bom", b'\xef\xbb\xbf{"name": "x"}', JSON),
    ("nul-byte", b'{"name": "x"}\x00', JSON),
    ("nul-inside", b'{"na\x00me": "x"}', JSON),
    ("nan", b"NaN", JSON),
    ("raw-nan-field", b'{"name": NaN}', JSON),
    ("duplicate-keys", b'{"name": "a", "name": "\\u0000"}', JSON),
    ("deep-list", b"[" * 100_000 + b"]" * 100_000, JSON),
    ("deep-object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
    ("huge-number", b'{"x": 1' + b"0" * 5000 + b"}", JSON),
    ("lone-surrogate-key", b'{"\\ud800": 1}', JSON),
    ("escaped-nul-key", b'{"\\u0000": 1}', JSON),
    ("whitespace", b"   \n\t  ", JSON),
    ("text-plain", b'{"name": "x"}', "text/plain"),
    ("form", b"name=x", "application/x-www-form-urlencoded"),
    ("xml", b"<name>x</name>", "application/xml"),
    ("multipart", b"--b\r\n\r\n--b--", "multipart/form-data; boundary=b"),
    ("json-charset-latin1", b'{"name": "\xe9"}', "application/json; charset=latin-1"),
    ("json-weird-type", b'{"name": "x"}', "application/json-patch+json"),
    ("no-type", b'{"name": "x"}', ""),
    ("bogus-type", b'{"name": "x"}', "%%%/;;;"),
]


def body_fragment(value: Any) -> str:
    """``value`` as JSON text for a body (lone surrogates as ``\\ud800`` escapes)."""
    if isinstance(value, Raw):
        return str(value)
    return json.dumps(value, allow_nan=True)


def url_text(value: Any, limit: int = 8000) -> str:
    """``value`` percent-encoded for a path segment or query value (a lone surrogate as
    the bytes it would be in UTF-8, which is what a client can send)."""
    plain = isinstance(value, str) and not isinstance(value, Raw)
    text = value if plain else body_fragment(value)
    return quote(text.encode("utf-8", "surrogatepass")[:limit], safe="")


def form_text(value: Any) -> str:
    """``value`` for a urlencoded form field: text, or its JSON for other values."""
    text = value if isinstance(value, str) and not isinstance(value, Raw) else body_fragment(value)
    return quote(text.encode("utf-8", "surrogatepass")[:200_000], safe="")


def count() -> int:
    return len(VALUES) + len(BODIES)
