"""docs/configuration.md, generated from the `Settings` classes and their field descriptions.

`render_configuration()` walks `Settings` and its nested groups and writes one table per group:
the environment variable, the type, the default and the field's description. Regenerate the page
after changing a setting::

    python -m guideline_qa.settings_doc > docs/configuration.md

`tests/guideline_qa/test_settings_doc.py` fails while the page and the code disagree.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
from pathlib import Path
from typing import Any, Literal, TypeGuard, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from qa_service.settings import Settings

REGENERATE = "python -m guideline_qa.settings_doc > docs/configuration.md"
UNDESCRIBED = "**(no description)**"

Group = tuple[tuple[str, ...], type[BaseModel]]
"""A nested settings group: its path of field names (`("server",)`) and its class."""

_INTRO = """\
# Configuration

<!-- Generated from qa_service/settings.py (and the ingest settings it nests) by
     `{regenerate}`. Do not edit by hand: change the field's description and regenerate. -->

Every setting of guideline-qa is read from an environment variable when a command starts
(`guideline-qa ingest`, `serve`, `ask`, `eval`, `bench`). There is no configuration file.

- Names start with `{prefix}`. A setting inside a group joins the group and the field with
  `{delimiter}`: `{example}`. Names are not case-sensitive.
- Lists are written as JSON: `{list_example}`.
- `true`/`false` (or `1`/`0`) for switches.
- A value outside its range, a value not in the list, or an unknown name inside a group
  (`{unknown_example}`) stops the command with a validation error naming the setting. A misspelled
  name outside a group (`{prefix}INDEXDIR`) is ignored like any other environment variable: check the spelling.
- Command-line flags win over the environment where both exist (`--index`, `--host`, `--port`).

The embedding model, its precision and the chunking settings are recorded in the index manifest
and must match between `guideline-qa ingest` and the service: the service refuses an index built
with other values and names each difference. After changing one, ingest again.
"""


def _env_name(path: tuple[str, ...]) -> str:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    delimiter = str(Settings.model_config.get("env_nested_delimiter", "__"))
    return (prefix + delimiter.join(path)).upper()


def _is_group(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def _type_name(annotation: Any) -> str:
    """A reader's name for a field's type: `integer`, `path`, `one of \\`a\\`, \\`b\\``, `list of text (JSON)`."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in args)
    if origin in (Union, types.UnionType):
        named = [_type_name(arg) for arg in args if arg is not type(None)]
        optional = len(named) < len(args)
        return " or ".join(named) + (", optional" if optional else "")
    if origin in (list, tuple, set, frozenset):
        inner = _type_name(args[0]) if args else "values"
        return f"list of {inner} (JSON)"
    names: dict[Any, str] = {
        bool: "true/false",
        int: "integer",
        float: "number",
        str: "text",
        Path: "path",
        SecretStr: "secret text",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(field: FieldInfo) -> str:
    """The field's range as the validators enforce it: `1 to 65535`, `above 0`, `at least 1`."""
    low = high = ""
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            low = f"at least {item.ge}"
        elif isinstance(item, annotated_types.Gt):
            low = f"above {item.gt}"
        elif isinstance(item, annotated_types.Le):
            high = f"at most {item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f"below {item.lt}"
    if low.startswith("at least") and high.startswith("at most"):
        return f"{low.removeprefix('at least ')} to {high.removeprefix('at most ')}"
    return ", ".join(part for part in (low, high) if part)


def _default_text(value: Any) -> str:
    """A default as a user would type it."""
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, Path):
        if value.is_absolute():  # built from this machine's home or cache folder: say so, not where
            return "depends on the machine (see the description)"
        return f"`{value.as_posix()}`"
    if isinstance(value, list | tuple):
        items = [v.as_posix() if isinstance(v, Path) else v for v in value]
        items = [v.get_secret_value() if isinstance(v, SecretStr) else v for v in items]
        return f"`{json.dumps(items)}`"
    if isinstance(value, str):
        # Quoted when blanks at either end matter (" > "): Markdown would trim them inside backticks.
        return f"`{value}`" if value and value == value.strip() else f"`{json.dumps(value)}`"
    return f"`{value}`"


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    return _default_text(field.get_default(call_default_factory=True))


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _docstring(model: type[BaseModel]) -> str:
    """The first paragraph of a group's docstring."""
    doc = inspect.getdoc(model) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _rows(model: type[BaseModel], path: tuple[str, ...]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if _is_group(field.annotation):
            continue
        kind = _type_name(field.annotation)
        bounds = _bounds(field)
        if bounds:
            kind = f"{kind}, {bounds}"
        description = field.description or UNDESCRIBED
        env = _env_name((*path, name))
        rows.append(f"| `{env}` | {_cell(kind)} | {_cell(_default(field))} | {_cell(description)} |")
    return rows


def _table(model: type[BaseModel], path: tuple[str, ...]) -> list[str]:
    return [
        "| Variable | Type | Default | What it does |",
        "| --- | --- | --- | --- |",
        *_rows(model, path),
    ]


def groups(model: type[BaseModel] = Settings, path: tuple[str, ...] = ()) -> list[Group]:
    """Every nested settings group under `model`, depth first, with its path of field names."""
    found: list[Group] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if _is_group(annotation):
            found.append(((*path, name), annotation))
            found.extend(groups(annotation, (*path, name)))
    return found


def undescribed_settings() -> list[str]:
    """Environment variable names of the settings that have no description."""
    missing = []
    every: list[Group] = [((), Settings), *groups()]
    for path, model in every:
        for name, field in model.model_fields.items():
            if not _is_group(field.annotation) and not field.description:
                missing.append(_env_name((*path, name)))
    return missing


def render_configuration() -> str:
    """The Markdown of docs/configuration.md: an introduction, then one table per settings group."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    delimiter = str(Settings.model_config.get("env_nested_delimiter", "__"))
    lines = [
        _INTRO.format(
            regenerate=REGENERATE,
            prefix=prefix,
            delimiter=delimiter,
            example=f"{_env_name(('retrieval', 'mode'))}=dense",
            unknown_example=_env_name(("retrieval", "mod")),
            list_example=f'{_env_name(("server", "api_keys"))}=\'["key-one", "key-two"]\'',
        ).rstrip("\n"),
        "",
        "## General",
        "",
        "Where the index lives, and what `guideline-qa ingest` reads when it is given no paths.",
        "",
        *_table(Settings, ()),
    ]
    for path, model in groups():
        title = ".".join(path)
        lines += [
            "",
            f"## `{title}`",
            "",
            _cell(_docstring(model)),
            "",
            *_table(model, path),
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Print the page: `python -m guideline_qa.settings_doc > docs/configuration.md`."""
    sys.stdout.write(render_configuration())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
