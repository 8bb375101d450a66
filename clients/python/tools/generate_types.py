#!/usr/bin/env python3
"""Generates the client's typed surface from schemas/openrpc.json, the sidecar's single source of truth.

Writes two modules of the package:
- `crm_sidecar/schema.py`: a TypedDict for every object schema, a Literal for every enum, the
  params of every notification, and the tables of methods, notifications and error codes;
- `crm_sidecar/_methods.py`: one typed method per JSON-RPC method, as keyword arguments, in an
  async mixin (for `Sidecar`) and a sync one (for `SyncSidecar`).

Run it again whenever the schema changes (`python clients/python/tools/generate_types.py`);
`--check` writes nothing and exits 1 when the files on disk differ from what the schema gives,
which is what the package's tests run.
"""
from __future__ import annotations

import argparse
import json
import keyword
import pathlib
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE = HERE.parent / "src" / "crm_sidecar"
DEFAULT_SCHEMA = HERE.parents[2] / "schemas" / "openrpc.json"

# A method `nouns.verb` becomes `verb_noun` (`list_nouns` for lists); these read badly that way.
METHOD_NAME_OVERRIDES = {"analytics.get": "analytics", "rpc.discover": "discover"}
# The singular of each plural noun used in method names; a noun not listed is kept as it is.
SINGULAR = {"communications": "communication", "clients": "client", "templates": "template", "events": "event"}
# Names the client classes use themselves, which no generated method may take.
RESERVED = {"call", "close", "wait_for", "notifications", "spawn", "start", "attach", "ready", "last_seq"}
WIDTH = 100

Schema = dict[str, Any]


def python_method_name(rpc_name: str) -> str:
    if rpc_name in METHOD_NAME_OVERRIDES:
        return METHOD_NAME_OVERRIDES[rpc_name]
    if "." not in rpc_name:
        return snake(rpc_name)
    noun, verb = rpc_name.rsplit(".", 1)
    noun = snake(noun.replace(".", "_"))
    if verb == "list":
        return f"list_{noun}"
    return f"{snake(verb)}_{SINGULAR.get(noun, noun)}"


def snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append("_" if char in ".-" else char.lower())
    return "".join(out)


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace(".", "_").replace("-", "_").split("_"))


def literal(value: object) -> str:
    """Python source for a JSON scalar, strings in double quotes like the rest of the package."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def annotated(head: str, expression: str, indent: str, tail: str = "") -> list[str]:
    """`head` followed by `expression`, a long Literal split one value a line."""
    line = f"{indent}{head}{expression}{tail}"
    if len(line) <= WIDTH or not (expression.startswith("Literal[") and expression.endswith("]")):
        return [line]
    values = expression[len("Literal[") : -1].split(", ")
    return [f"{indent}{head}Literal[", *[f"{indent}    {value}," for value in values], f"{indent}]{tail}"]


def comment_block(text: str, indent: str) -> list[str]:
    return [indent + "# " + line for line in textwrap.wrap(text, WIDTH - len(indent) - 2)]


def docstring(text: str, indent: str) -> list[str]:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = textwrap.wrap(text, WIDTH - len(indent) - 6)
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}'] + [indent + line for line in lines[1:]] + [f'{indent}"""']


@dataclass
class TypedDictSpec:
    name: str
    description: str
    required: list[tuple[str, str, str]] = field(default_factory=list)  # (key, type, description)
    optional: list[tuple[str, str, str]] = field(default_factory=list)


class Generator:
    """Turns JSON Schema (the subset the OpenRPC document uses) into Python type expressions."""

    def __init__(self, document: Schema) -> None:
        self.document = document
        self.schemas: Schema = document["components"]["schemas"]
        self.blocks: list[list[str]] = []  # module-level definitions, in order
        self.defined: set[str] = set()
        self.typed_dicts: dict[str, TypedDictSpec] = {}

    # Resolving

    def resolve(self, reference: str) -> Schema:
        assert reference.startswith("#/"), reference
        node: Any = self.document
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict)
        return node

    def top_level_name(self, reference: str) -> str | None:
        prefix = "#/components/schemas/"
        if reference.startswith(prefix) and "/" not in reference[len(prefix) :]:
            return reference[len(prefix) :]
        return None

    # Type expressions

    def type_of(self, schema: Schema, hint: str) -> str:
        """A type expression for `schema`; inline objects become TypedDicts named from `hint`."""
        if "$ref" in schema:
            name = self.top_level_name(schema["$ref"])
            return name if name else self.type_of(self.resolve(schema["$ref"]), hint)
        if "const" in schema:
            return f"Literal[{literal(schema['const'])}]"
        if "enum" in schema:
            return "Literal[" + ", ".join(literal(value) for value in schema["enum"]) + "]"
        for combinator in ("oneOf", "anyOf"):
            if combinator in schema:
                return self.union([self.type_of(member, self.member_hint(member, hint, index))
                                   for index, member in enumerate(schema[combinator])])
        if "allOf" in schema and "properties" not in schema and len(schema["allOf"]) == 1:
            return self.type_of(schema["allOf"][0], hint)
        kind = schema.get("type")
        if isinstance(kind, list):
            return self.union([self.type_of({**schema, "type": one}, hint) for one in kind])
        if kind == "string":
            return "str"
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "null":
            return "None"
        if kind == "array":
            return f"list[{self.type_of(schema.get('items', {}), hint + 'Item')}]"
        if kind == "object" or "properties" in schema:
            if schema.get("properties"):
                self.typed_dict(hint, schema)
                return hint
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"dict[str, {self.type_of(extra, hint + 'Value')}]"
            return "dict[str, Any]"
        return "Any"

    def member_hint(self, member: Schema, hint: str, index: int) -> str:
        """A name for an inline member of a union: after the constant that tells it apart, if any."""
        for key, value in member.get("properties", {}).items():
            if "const" in value and isinstance(value["const"], str):
                return hint + camel(value["const"])
        return f"{hint}{index + 1}"

    @staticmethod
    def union(members: list[str]) -> str:
        unique = list(dict.fromkeys(members))
        if "None" in unique:  # `X | None` reads best with None last
            unique = [member for member in unique if member != "None"] + ["None"]
        return " | ".join(unique)

    # Definitions

    def typed_dict(self, name: str, schema: Schema) -> None:
        if name in self.typed_dicts:
            return
        spec = TypedDictSpec(name, schema.get("description", ""))
        self.typed_dicts[name] = spec  # before the fields: a schema may refer to itself
        required = set(schema.get("required", []))
        for key, value in schema["properties"].items():
            entry = (key, self.type_of(value, name + camel(key)), value.get("description", ""))
            (spec.required if key in required else spec.optional).append(entry)
        self.blocks.append(self.render_typed_dict(spec))
        self.defined.add(name)

    def render_typed_dict(self, spec: TypedDictSpec) -> list[str]:
        identifiers = all(key.isidentifier() and not keyword.iskeyword(key)
                          for key, _, _ in spec.required + spec.optional)
        lines: list[str] = []
        if not identifiers:
            # A key such as `from` cannot be a class attribute: the functional form holds any key,
            # its types quoted so that they may name what is defined further down.
            bases = []
            for suffix, entries, total in (("Required", spec.required, True), ("Optional", spec.optional, False)):
                if not entries:
                    continue
                base = f"_{spec.name}{suffix}"
                lines.append(f'{base} = TypedDict(')
                lines.append(f'    "{base}",')
                lines.append("    {")
                for key, typ, description in entries:
                    lines += comment_block(description, "        ") if description else []
                    lines.append(f"        {literal(key)}: {self.forward(typ)},")
                lines.append("    }," + ("" if total else "\n    total=False,"))
                lines.append(")")
                bases.append(base)
            lines += ["", ""]
            lines.append(f"class {spec.name}({', '.join(bases)}):")
            lines += docstring(spec.description or f"{spec.name}.", "    ")
            return lines
        if spec.required and spec.optional:
            # Python 3.10 has no NotRequired: required keys live in a base class, optional ones in a
            # total=False subclass.
            lines.append(f"class _{spec.name}Required(TypedDict):")
            lines += self.render_fields(spec.required)
            lines += ["", ""]
            lines.append(f"class {spec.name}(_{spec.name}Required, total=False):")
        else:
            lines.append(f"class {spec.name}(TypedDict{'' if spec.required else ', total=False'}):")
        if spec.description:
            lines += docstring(spec.description, "    ")
        lines += self.render_fields(spec.optional if spec.required and spec.optional else spec.required + spec.optional)
        return lines

    @staticmethod
    def render_fields(entries: list[tuple[str, str, str]]) -> list[str]:
        lines: list[str] = []
        for key, typ, description in entries:
            if description:
                lines += comment_block(description, "    ")
            lines += annotated(f"{key}: ", typ, "    ")
        return lines or ["    pass"]

    def alias(self, name: str, expression: str, description: str) -> None:
        lines = comment_block(description, "") if description else []
        lines += annotated(f"{name}: TypeAlias = ", self.runtime_expression(expression), "")
        self.blocks.append(lines)
        self.defined.add(name)

    def runtime_expression(self, expression: str) -> str:
        """An alias is evaluated at import: `A | B` of classes becomes Union[...], a name defined
        further down is quoted."""
        if " | " not in expression:
            return expression if self.is_defined(expression) else literal(expression)
        members = [member if self.is_defined(member) else literal(member) for member in expression.split(" | ")]
        return "Union[" + ", ".join(members) + "]"

    def forward(self, expression: str) -> str:
        """`expression` as a functional TypedDict's value, which is evaluated at import: quoted when it
        names what is defined further down."""
        if all(self.is_defined(name) for name in names_in(expression)):
            return expression
        return f"'{expression}'" if '"' in expression else f'"{expression}"'

    def is_defined(self, expression: str) -> bool:
        head = expression.split("[", 1)[0]
        return head in self.defined or head in {"str", "int", "float", "bool", "None", "Any", "Literal", "list", "dict"}

    def component(self, name: str, schema: Schema) -> None:
        if schema.get("properties"):
            self.typed_dict(name, schema)
            return
        self.alias(name, self.type_of(schema, name), schema.get("description", ""))


@dataclass
class Param:
    name: str
    type: str
    required: bool
    description: str


@dataclass
class Method:
    rpc_name: str
    python_name: str
    summary: str
    description: str
    params: list[Param]
    result: str
    # communicate's result is one of two shapes, told apart by a boolean param (dry_run): the typed
    # method is overloaded on it so that the common call returns the one shape.
    discriminator: tuple[str, str, str] | None  # (param, result when true, result otherwise)


def methods(generator: Generator) -> list[Method]:
    found: list[Method] = []
    for method in generator.document["methods"]:
        rpc_name = method["name"]
        python_name = python_method_name(rpc_name)
        base = camel(python_name)
        params = []
        for param in method.get("params", []):
            if not param["name"].isidentifier() or keyword.iskeyword(param["name"]):
                raise SystemExit(f"{rpc_name}: param {param['name']!r} cannot be a keyword argument")
            typ = generator.type_of(param["schema"], base + camel(param["name"]))
            if not param.get("required") and "None" in typ.split(" | "):
                raise SystemExit(f"{rpc_name}: optional param {param['name']!r} takes null; None cannot mean absent")
            params.append(Param(param["name"], typ, bool(param.get("required")), param.get("description", "")))
        result_schema = method["result"]["schema"]
        result = generator.type_of(result_schema, base + "Result")
        found.append(Method(rpc_name, python_name, method.get("summary", ""), method.get("description", ""),
                            params, result, discriminator(generator, result_schema, params)))
    names = [method.python_name for method in found]
    clashes = {name for name in names if names.count(name) > 1} | (set(names) & RESERVED)
    if clashes:
        raise SystemExit(f"method names clash: {sorted(clashes)}; add to METHOD_NAME_OVERRIDES")
    return found


def discriminator(generator: Generator, result: Schema, params: list[Param]) -> tuple[str, str, str] | None:
    members = result.get("oneOf", [])
    if len(members) != 2 or not all("$ref" in member for member in members):
        return None
    shapes = [generator.resolve(member["$ref"]) for member in members]
    names = [generator.top_level_name(member["$ref"]) or "" for member in members]
    for param in params:
        if param.type != "bool" or param.required:
            continue
        marked = [index for index, shape in enumerate(shapes)
                  if shape.get("properties", {}).get(param.name, {}).get("const") is True]
        if len(marked) == 1:
            return param.name, names[marked[0]], names[1 - marked[0]]
    return None


HEADER = '''"""{what}

Generated by clients/python/tools/generate_types.py from schemas/openrpc.json ({title} {version}): do
not edit; change the schema and run the generator again.
"""
from __future__ import annotations
'''


def render_schema_module(generator: Generator, found: list[Method]) -> str:
    document = generator.document
    for name, schema in generator.schemas.items():
        generator.component(name, schema)
    notification_types: dict[str, str] = {}
    for notification in document.get("x-notifications", []):
        notification_types[notification["name"]] = notification_params(generator, notification)
    # Inline result types (rpc.discover's) are already named by methods(); give them a definition.
    for method in found:
        if method.result not in generator.defined and method.result.isidentifier():
            generator.alias(method.result, "dict[str, Any]", "")

    lines = [HEADER.format(what="Types of the sidecar's methods, results, notifications and errors.",
                           title=document["info"]["title"], version=document["info"]["version"]),
             "from typing import Any, Literal, TypeAlias, TypedDict, Union", ""]
    for block in generator.blocks:
        lines += ["", *block, ""]
    lines += ["", "", "class Notification(TypedDict):",
              '    """A notification as `Sidecar.notifications()` yields it: its method and its params."""',
              "", "    method: str", "    params: dict[str, Any]", "", ""]
    lines.append("# Each JSON-RPC method of the schema and the client method that calls it.")
    lines.append("METHODS: dict[str, str] = {")
    lines += [f"    {literal(method.rpc_name)}: {literal(method.python_name)}," for method in found]
    lines += ["}", ""]
    lines.append("# Each notification the sidecar sends and the name of its params' type in this module.")
    lines.append("NOTIFICATIONS: dict[str, str] = {")
    lines += [f"    {literal(name)}: {literal(typ)}," for name, typ in notification_types.items()]
    lines += ["}", ""]
    lines.append("# Each error of components/errors and its code.")
    lines.append("ERROR_CODES: dict[str, int] = {")
    lines += [f"    {literal(name)}: {error['code']}," for name, error in document["components"].get("errors", {}).items()]
    lines += ["}", ""]
    return tidy(lines)


def notification_params(generator: Generator, notification: Schema) -> str:
    """The params type of a notification: the component its params all point into (StatusChange),
    else a TypedDict of its own (sidecar.ready's)."""
    params = notification.get("params", [])
    homes = set()
    for param in params:
        reference = param["schema"].get("$ref", "")
        home, _, key = reference.rpartition("/properties/")
        homes.add(home if key == param["name"] else None)
    if len(homes) == 1 and None not in homes:
        name = generator.top_level_name(homes.pop() or "")
        if name and set(generator.schemas[name].get("required", [])) == {p["name"] for p in params if p.get("required")}:
            return name
    name = camel(notification["name"]) + "Params"
    generator.typed_dict(name, {
        "description": notification.get("summary", ""),
        "properties": {param["name"]: {**param["schema"], **({"description": param["description"]} if "description" in param else {})}
                       for param in params},
        "required": [param["name"] for param in params if param.get("required")],
    })
    return name


def render_methods_module(found: list[Method], document: Schema) -> str:
    used: set[str] = set()
    bodies_async: list[str] = []
    bodies_sync: list[str] = []
    for method in found:
        bodies_async += render_method(method, asynchronous=True, used=used)
        bodies_sync += render_method(method, asynchronous=False, used=used)
    schema_names = sorted(name for name in used if name not in {"Any", "Literal"})
    lines = [HEADER.format(what="The typed methods of `Sidecar` and `SyncSidecar`, one per method of the schema.",
                           title=document["info"]["title"], version=document["info"]["version"]),
             "from collections.abc import Mapping",
             "from typing import Any, Literal, cast, overload", ""]
    lines += ["from .schema import (", *[f"    {name}," for name in schema_names], ")", "", ""]
    lines += ["def _present(params: dict[str, Any]) -> dict[str, Any]:",
              '    """The params given: an argument left at None is not sent, so the sidecar applies its default."""',
              "    return {key: value for key, value in params.items() if value is not None}", "", ""]
    lines += ["class AsyncMethods:", '    """One coroutine per JSON-RPC method; `Sidecar` supplies `call`."""', "",
              "    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:",
              "        raise NotImplementedError", "", *bodies_async, "",
              "class SyncMethods:", '    """One blocking method per JSON-RPC method; `SyncSidecar` supplies `call`."""', "",
              "    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:",
              "        raise NotImplementedError", "", *bodies_sync]
    return tidy(lines)


def render_method(method: Method, *, asynchronous: bool, used: set[str]) -> list[str]:
    for typ in [param.type for param in method.params] + [method.result]:
        used.update(names_in(typ))
    define = "async def" if asynchronous else "def"
    wait = "await " if asynchronous else ""
    required = [param for param in method.params if param.required]
    optional = [param for param in method.params if not param.required]

    flag = method.discriminator[0] if method.discriminator else None

    def signature(result: str, flag_is: bool | None = None) -> list[str]:
        """The method's signature; with `flag_is`, the overload for that value of the discriminator."""
        arguments = [f"{param.name}: {param.type}" for param in required]
        for param in optional:
            if param.name == flag and flag_is is True:
                arguments.append(f"{param.name}: Literal[True]")
            elif param.name == flag and flag_is is False:
                arguments.append(f"{param.name}: Literal[False] | None = None")
            else:
                arguments.append(f"{param.name}: {param.type} | None = None")
        if not arguments:
            return [f"    {define} {method.python_name}(self) -> {result}:"]
        return [f"    {define} {method.python_name}(", "        self,", "        *,",
                *[f"        {argument}," for argument in arguments], f"    ) -> {result}:"]

    lines: list[str] = []
    if method.discriminator:
        _, when_true, otherwise = method.discriminator
        used.update({when_true, otherwise})
        lines += ["    @overload", *signature(when_true, flag_is=True), "        ...", ""]
        lines += ["    @overload", *signature(otherwise, flag_is=False), "        ...", ""]
        # The last overload and the implementation take any bool: `dry_run=flag` still type-checks.
        lines += ["    @overload", *signature(method.result), "        ...", ""]
    lines += signature(method.result)
    text = method.summary
    if method.description and method.description != method.summary:
        text = f"{text} {method.description}".strip()
    text = f"`{method.rpc_name}`: {text}"
    described = [param for param in method.params if param.description]
    doc = textwrap.wrap(text.replace("\\", "\\\\").replace('"""', "'''"), WIDTH - 8)
    if described:
        doc += [""] + ["Args:"]
        for param in described:
            doc += textwrap.wrap(f"{param.name}: {param.description}", WIDTH - 12,
                                 initial_indent="    ", subsequent_indent="        ")
    if len(doc) == 1 and len(doc[0]) <= WIDTH - 14:
        lines.append(f'        """{doc[0]}"""')
    else:
        lines.append('        """' + doc[0])
        lines += [("        " + line) if line else "" for line in doc[1:]]
        lines.append('        """')
    if method.params:
        lines.append("        params: dict[str, Any] = {")
        lines += [f"            {literal(param.name)}: {param.name}," for param in method.params]
        lines.append("        }")
        call = f"{wait}self.call({literal(method.rpc_name)}, _present(params))"
    else:
        call = f"{wait}self.call({literal(method.rpc_name)})"
    lines.append(f"        return cast({literal(method.result)}, {call})")
    lines.append("")
    return lines


def names_in(expression: str) -> set[str]:
    names = set()
    for token in expression.replace("[", " ").replace("]", " ").replace(",", " ").replace("|", " ").split():
        if token.isidentifier() and token not in {"str", "int", "float", "bool", "None", "list", "dict"}:
            names.add(token)
    return names


def tidy(lines: list[str]) -> str:
    """Joins lines with at most two blank lines in a row and one newline at the end."""
    out: list[str] = []
    for line in "\n".join(lines).split("\n"):
        line = line.rstrip()
        if not line and len(out) >= 2 and not out[-1] and not out[-2]:
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def render(document: Schema) -> dict[pathlib.Path, str]:
    generator = Generator(document)
    found = methods(generator)
    schema_module = render_schema_module(generator, found)
    return {PACKAGE / "schema.py": schema_module, PACKAGE / "_methods.py": render_methods_module(found, document)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--schema", type=pathlib.Path, default=DEFAULT_SCHEMA)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files are out of date")
    options = parser.parse_args(argv)
    outputs = render(json.loads(options.schema.read_text(encoding="utf-8")))
    stale = [path for path, text in outputs.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if options.check:
        for path in stale:
            print(f"{path} is out of date with {options.schema}; run {pathlib.Path(__file__).name}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
