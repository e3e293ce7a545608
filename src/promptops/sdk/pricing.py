"""Per-model prices, for the estimated cost of each logged call.

Prices are USD per one million tokens, input and output. The table starts from
:data:`DEFAULT_PRICES` (list prices of common models; check them against your contract), then
takes the JSON file named by ``PROMPTOPS_PRICES``, then the ``prices=`` given to the client;
later sources win, and a model mapped to ``null`` / ``None`` is removed (its cost is logged as
null). A model the table does not know gets a null cost, never a guess.

Accepted shapes, in the file and in ``prices=``::

    {"gpt-4o": {"input": 2.5, "output": 10.0}, "my-finetune": [1.0, 2.0], "o1": null}

A model name is looked up as given, then without a ``models/`` prefix and without a date or
revision suffix (``gpt-4o-2024-08-06`` → ``gpt-4o``, ``claude-3-5-haiku-20241022`` →
``claude-3-5-haiku``, ``gemini-1.5-flash-002`` → ``gemini-1.5-flash``, ``gpt-4-0613`` → ``gpt-4``,
``…-latest``).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptops.sdk.errors import ConfigurationError

__all__ = ["DEFAULT_PRICES", "PRICES_ENV", "ModelPrice", "PriceTable"]

PRICES_ENV = "PROMPTOPS_PRICES"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per one million tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        if input_tokens is None and output_tokens is None:
            return None
        total = (input_tokens or 0) * self.input + (output_tokens or 0) * self.output
        return round(total / 1_000_000, 10)


def _p(input: float, output: float) -> ModelPrice:
    return ModelPrice(input, output)


# List prices (USD / 1M tokens, standard tier, no caching or batch discounts) as published
# by the providers in 2025. Operators override or extend them; see the module docstring.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    # OpenAI
    "gpt-5": _p(1.25, 10.0),
    "gpt-5-mini": _p(0.25, 2.0),
    "gpt-5-nano": _p(0.05, 0.40),
    "gpt-4.1": _p(2.0, 8.0),
    "gpt-4.1-mini": _p(0.40, 1.60),
    "gpt-4.1-nano": _p(0.10, 0.40),
    "gpt-4o": _p(2.50, 10.0),
    "gpt-4o-mini": _p(0.15, 0.60),
    "gpt-4-turbo": _p(10.0, 30.0),
    "gpt-4": _p(30.0, 60.0),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    "o1": _p(15.0, 60.0),
    "o1-mini": _p(1.10, 4.40),
    "o3": _p(2.0, 8.0),
    "o3-mini": _p(1.10, 4.40),
    "o4-mini": _p(1.10, 4.40),
    # Anthropic
    "claude-opus-4-1": _p(15.0, 75.0),
    "claude-opus-4": _p(15.0, 75.0),
    "claude-opus-4-0": _p(15.0, 75.0),
    "claude-sonnet-4-5": _p(3.0, 15.0),
    "claude-sonnet-4": _p(3.0, 15.0),
    "claude-sonnet-4-0": _p(3.0, 15.0),
    "claude-haiku-4-5": _p(1.0, 5.0),
    "claude-3-7-sonnet": _p(3.0, 15.0),
    "claude-3-5-sonnet": _p(3.0, 15.0),
    "claude-3-5-haiku": _p(0.80, 4.0),
    "claude-3-opus": _p(15.0, 75.0),
    "claude-3-haiku": _p(0.25, 1.25),
    # Google Gemini (prompts up to 200k tokens where the price depends on length)
    "gemini-2.5-pro": _p(1.25, 10.0),
    "gemini-2.5-flash": _p(0.30, 2.50),
    "gemini-2.5-flash-lite": _p(0.10, 0.40),
    "gemini-2.0-flash": _p(0.10, 0.40),
    "gemini-2.0-flash-lite": _p(0.075, 0.30),
    "gemini-1.5-pro": _p(1.25, 5.0),
    "gemini-1.5-flash": _p(0.075, 0.30),
}

# Date / revision suffixes that name a snapshot of a model rather than another model.
_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3,4}|-latest)$")


class PriceTable:
    """Model name → :class:`ModelPrice`; ``cost()`` answers None for unknown models."""

    def __init__(self, prices: Mapping[str, ModelPrice]) -> None:
        self._prices = dict(prices)
        self._resolved: dict[str, ModelPrice | None] = {}

    @classmethod
    def load(
        cls,
        prices: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> PriceTable:
        """Defaults, then the ``PROMPTOPS_PRICES`` file, then ``prices`` (a mapping or the
        path of a JSON file). Raises :class:`ConfigurationError` naming the bad entry."""
        table: dict[str, ModelPrice] = dict(DEFAULT_PRICES)
        env = os.environ if environ is None else environ
        path = env.get(PRICES_ENV)
        if path:
            _merge(table, _read_file(path, f"{PRICES_ENV}={path}"), f"{PRICES_ENV}={path}")
        if isinstance(prices, str | os.PathLike):
            _merge(table, _read_file(prices, f"prices={prices}"), f"prices={prices}")
        elif prices is not None:
            if not isinstance(prices, Mapping):
                raise ConfigurationError(
                    f"prices must be a mapping of model → price or a JSON file path,"
                    f" not {type(prices).__name__}"
                )
            _merge(table, prices, "prices")
        return cls(table)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.price(model) is not None

    def __len__(self) -> int:
        return len(self._prices)

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model`` (with the lookups of the module docstring), or None."""
        try:
            return self._resolved[model]
        except KeyError:
            pass
        found = self._prices.get(model)
        if found is None:
            name = model.removeprefix("models/")
            found = self._prices.get(name)
            if found is None:
                stripped = _SUFFIX.sub("", name)
                if stripped != name:
                    found = self._prices.get(stripped)
        if len(self._resolved) < 10_000:
            self._resolved[model] = found
        return found

    def cost(
        self, model: str | None, input_tokens: int | None, output_tokens: int | None
    ) -> float | None:
        """Estimated USD cost of one call; None when the model or the usage is unknown."""
        if not model:
            return None
        price = self.price(model)
        return None if price is None else price.cost(input_tokens, output_tokens)


def _read_file(path: str | os.PathLike[str], source: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{source}: cannot read the price file: {exc}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"{source}: not valid JSON: {exc}") from exc


def _merge(table: dict[str, ModelPrice], given: Any, source: str) -> None:
    if not isinstance(given, Mapping):
        raise ConfigurationError(
            f"{source}: expected a JSON object of model → price, got {type(given).__name__}"
        )
    for model, value in given.items():
        if not isinstance(model, str) or not model:
            raise ConfigurationError(f"{source}: model names must be non-empty strings")
        if value is None:
            table.pop(model, None)
            continue
        table[model] = _price(value, f"{source}[{model!r}]")


def _price(value: Any, where: str) -> ModelPrice:
    if isinstance(value, ModelPrice):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"input", "output"}
        if unknown or "input" not in value or "output" not in value:
            raise ConfigurationError(
                f"{where}: expected {{'input': <USD per 1M tokens>, 'output': <...>}},"
                f" got {dict(value)!r}"
            )
        pair = (value["input"], value["output"])
    elif isinstance(value, list | tuple) and len(value) == 2:
        pair = (value[0], value[1])
    else:
        raise ConfigurationError(
            f"{where}: expected {{'input': x, 'output': y}} or [input, output] in USD per"
            f" 1M tokens, got {value!r}"
        )
    numbers = []
    for number in pair:
        if (
            not isinstance(number, int | float)
            or isinstance(number, bool)
            or not math.isfinite(number)
            or number < 0
        ):
            raise ConfigurationError(f"{where}: prices must be numbers >= 0, got {number!r}")
        numbers.append(float(number))
    return ModelPrice(numbers[0], numbers[1])
