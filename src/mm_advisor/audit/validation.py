"""Traces are checked against the shipped JSON Schema before anything reads them.

The schema is compiled once into a tree of small checks, so that bulk verification can check a
hundred thousand traces in seconds (a general validator takes about 12 ms per trace). Only the
keywords the trace schema uses are understood; any other keyword stops the compilation, so the
schema cannot silently say more than is checked. A differential test holds the result equal to
the `jsonschema` package on valid traces and on thousands of broken ones.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ..errors import TraceError
from ..files import PACKAGE

Check = Callable[[Any, str], "str | None"]  # the first problem, as "path: what is wrong"
_KNOWN = {
    "$schema", "$id", "title", "description", "$defs", "default", "type", "properties",
    "required", "additionalProperties", "items", "pattern", "enum", "const", "minimum",
    "minLength", "maxLength", "minItems", "oneOf", "$ref", "propertyNames", "format",
}  # fmt: skip
# JSON's values come as exactly these Python types (true and false as bool, never as int).
_TYPES = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 2 and 2.0 are the same number; true is not 1."""
    return a == b and (type(a) is bool) == (type(b) is bool)


def _describe(value: Any) -> str:
    kind = {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(value))
    return kind or ("null" if value is None else "a number")


class _Compiler:
    def __init__(self, root: dict[str, Any]):
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: dict[str, Any]) -> Check:
        unknown = set(schema) - _KNOWN
        if unknown:
            raise ValueError(f"the trace schema uses keywords this checker does not: {unknown}")
        if set(schema) - {"description"} == {"type", "pattern"} and schema["type"] == "string":
            regex = re.compile(schema["pattern"])  # the commonest node: text in a given form
            return lambda v, p, r=regex: (
                None
                if type(v) is str and r.search(v)
                else f"{p}: expected text in the expected form, found {_describe(v)}"
                if type(v) is not str
                else f"{p}: not in the expected form"
            )
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        structured = schema.get("type") == "object" and any(
            k in schema for k in ("properties", "required", "additionalProperties", "propertyNames")
        )
        if "type" in schema and not structured:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            allowed = frozenset(t for n in names for t in _TYPES[n])
            wanted = " or ".join(names)
            # JSON Schema counts 2.0 as an integer, as the reference validator does.
            whole = "integer" in names and "number" not in names

            def typed(v: Any, p: str, allowed=allowed, wanted=wanted, whole=whole) -> str | None:
                if type(v) in allowed or (whole and type(v) is float and v.is_integer()):
                    return None
                return f"{p}: expected {wanted}, found {_describe(v)}"

            checks.append(typed)
        if "const" in schema:
            const = schema["const"]
            checks.append(
                lambda v, p, c=const: None if _same(v, c) else f"{p}: expected {json.dumps(c)}"
            )
        if "enum" in schema:
            allowed = schema["enum"]
            checks.append(
                lambda v, p, a=allowed: (
                    None
                    if any(_same(v, x) for x in a)
                    else f"{p}: expected one of {', '.join(json.dumps(x) for x in a)}"
                )
            )
        if "pattern" in schema:
            regex = re.compile(schema["pattern"])
            checks.append(
                lambda v, p, r=regex: (
                    None
                    if not isinstance(v, str) or r.search(v)
                    else f"{p}: not in the expected form"
                )
            )
        for key, test, words in (
            ("minLength", lambda v, n: len(v) >= n, "shorter than {}"),
            ("maxLength", lambda v, n: len(v) <= n, "longer than {}"),
        ):
            if key in schema:
                n = schema[key]
                checks.append(
                    lambda v, p, n=n, test=test, words=words: (
                        None
                        if not isinstance(v, str) or test(v, n)
                        else f"{p}: {words.format(n)} characters"
                    )
                )
        if "minimum" in schema:
            low = schema["minimum"]
            checks.append(
                lambda v, p, low=low: (
                    None if type(v) not in (int, float) or v >= low else f"{p}: less than {low}"
                )
            )
        if "minItems" in schema:
            n = schema["minItems"]
            checks.append(
                lambda v, p, n=n: (
                    None if not isinstance(v, list) or len(v) >= n else f"{p}: fewer than {n} items"
                )
            )
        if "oneOf" in schema:
            branches = [self.compile(s) for s in schema["oneOf"]]
            checks.append(
                lambda v, p, b=branches: (
                    None if sum(c(v, p) is None for c in b) == 1 else f"{p}: not a valid value here"
                )
            )
        if "items" in schema:
            item = self.compile(schema["items"])
            checks.append(self.items(item))
        if any(
            k in schema for k in ("properties", "required", "additionalProperties", "propertyNames")
        ):
            checks.append(self.object(schema))
        return self.all(checks)

    @staticmethod
    def all(checks: list[Check]) -> Check:
        if len(checks) == 1:
            return checks[0]

        def check(value: Any, path: str) -> str | None:
            for c in checks:
                problem = c(value, path)
                if problem is not None:
                    return problem
            return None

        return check

    def ref(self, ref: str) -> Check:
        """The definition's check itself (the trace schema's definitions do not refer to
        themselves, so each is compiled once and shared)."""
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"the trace schema refers outside itself: {ref}")
        name = ref.rsplit("/", 1)[1]
        if name not in self.refs:
            self.refs[name] = self.compile(self.root["$defs"][name])
        return self.refs[name]

    @staticmethod
    def items(item: Check) -> Check:
        def check(value: Any, path: str) -> str | None:
            if not isinstance(value, list):
                return None
            for i, element in enumerate(value):
                problem = item(element, f"{path}[{i}]")
                if problem is not None:
                    return problem
            return None

        return check

    def object(self, schema: dict[str, Any]) -> Check:
        properties = [(k, self.compile(v)) for k, v in schema.get("properties", {}).items()]
        known = frozenset(k for k, _ in properties)
        required = frozenset(schema.get("required", ()))
        order = [k for k in schema.get("required", ())]
        extra = schema.get("additionalProperties", True)
        extra_check = self.compile(extra) if isinstance(extra, dict) else None
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        typed = schema.get("type") == "object"  # then the type is checked here too

        def check(value: Any, path: str) -> str | None:
            if type(value) is not dict:
                return f"{path}: expected object, found {_describe(value)}" if typed else None
            keys = value.keys()
            if not required <= keys:
                return f"{path}: missing '{next(k for k in order if k not in keys)}'"
            if extra is False and not keys <= known:
                return f"{path}.{next(k for k in keys if k not in known)}: not expected here"
            for key, own in properties:
                if key in value:
                    problem = own(value[key], path + "." + key)
                    if problem is not None:
                        return problem
            if names is None and extra_check is None:
                return None
            for key in keys:
                where = path + "." + key
                if names is not None and names(key, where) is not None:
                    return f"{where}: not a valid name"
                if extra_check is not None and key not in known:
                    problem = extra_check(value[key], where)
                    if problem is not None:
                        return problem
            return None

        return check


@lru_cache(maxsize=1)
def _trace_check() -> Check:
    schema = json.loads((Path(PACKAGE) / "schemas" / "trace.schema.json").read_text())
    return _Compiler(schema).compile(schema)


def problem(doc: Any) -> str | None:
    """The first way `doc` breaks the trace schema ("$.fired[2].rule: ..."), or None."""
    return _trace_check()(doc, "$")


def validate(doc: Any, where: str) -> None:
    """Raise TraceError naming `where` and the first bad field's JSON path."""
    found = problem(doc)
    if found is not None:
        from ..explanation.render import safe

        raise TraceError(f"{where}: not a valid trace: {safe(found)}")
