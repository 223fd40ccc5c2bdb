"""Output formats for the CLI: text (with source excerpts), json, sarif, github."""

from __future__ import annotations

from collections.abc import Callable

from logitlint.formats import github, jsonfmt, sarif, text

FORMATS: dict[str, Callable] = {
    "text": text.render,
    "json": jsonfmt.render,
    "sarif": sarif.render,
    "github": github.render,
}
