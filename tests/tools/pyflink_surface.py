"""Extract PyFlink's public DataStream/common surface into ``tests/pyflink_surface.json``.

Reads an unzipped ``apache-flink`` wheel with :mod:`ast` (PyFlink is never imported, so no JVM
and no PyFlink install is needed) and writes facts only: for each module its public names, and for
each public class whether it is generic (with how many type parameters), its public methods and
their parameters. ``tests/test_pyflink_surface.py`` holds strom against the file.

Usage::

    cd /tmp && pip download --no-deps apache-flink && unzip -q apache_flink-*.whl 'pyflink/*'
    python tests/tools/pyflink_surface.py /tmp/pyflink > tests/pyflink_surface.json
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

MODULES = [
    "datastream", "datastream.functions", "datastream.window", "datastream.state",
    "datastream.output_tag", "datastream.slot_sharing_group", "datastream.execution_mode",
    "datastream.checkpoint_config", "datastream.checkpointing_mode", "datastream.state_backend",
    "datastream.time_characteristic", "datastream.time_domain", "datastream.data_stream",
    "datastream.stream_execution_environment", "datastream.connectors",
    "datastream.connectors.base",
    "common", "common.typeinfo", "common.types", "common.configuration", "common.config_options",
    "common.time", "common.watermark_strategy", "common.serialization", "common.restart_strategy",
    "common.job_client", "common.job_execution_result", "common.execution_config",
    "common.instant", "common.job_status", "common.job_id", "common.completable_future",
    "common.input_dependency_constraint", "common.io", "common.serializer",
    "datastream.checkpoint_storage", "datastream.externalized_checkpoint_retention",
    "datastream.timerservice", "datastream.async_data_stream", "datastream.async_retry_predicates",
    "datastream.async_retry_strategies",
    "datastream.connectors.file_system", "datastream.connectors.kafka",
    "datastream.connectors.number_seq", "datastream.formats.csv", "datastream.formats.json",
]
"""The modules of the surface, relative to ``pyflink`` (absent ones are reported as such)."""


class Tree:
    """The parsed modules of one unzipped ``pyflink`` package, parsed on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._parsed: dict[str, ast.Module | None] = {}

    def path(self, module: str) -> Path | None:
        base = self.root.joinpath(*module.split(".")[1:])
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def parse(self, module: str) -> ast.Module | None:
        if module not in self._parsed:
            path = self.path(module)
            self._parsed[module] = ast.parse(path.read_text()) if path else None
        return self._parsed[module]

    def typevars(self) -> set[str]:
        """Every name bound to ``TypeVar(...)`` in the parsed modules."""
        names: set[str] = set()
        for tree in filter(None, self._parsed.values()):
            for node in tree.body:
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                        and getattr(node.value.func, "id", None) == "TypeVar"):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        return names

    def resolve(self, module: str, name: str, depth: int = 0) -> tuple[str, ast.AST] | None:
        """Where ``module.name`` is defined: follows ``from ... import`` inside pyflink."""
        tree = self.parse(module)
        if tree is None or depth > 10:
            return None
        found: tuple[str, ast.AST] | None = None
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
                found = (module, node)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name for t in node.targets):
                found = (module, node)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    package = module if self.path(module).name == "__init__.py" else \
                        module.rsplit(".", 1)[0]
                    for _ in range(node.level - 1):
                        package = package.rsplit(".", 1)[0]
                    source = f"{package}.{source}" if source else package
                if not source.startswith("pyflink"):
                    continue
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        found = self.resolve(source, alias.name, depth + 1) or found
        return found


def _public_names(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]
    return [n.name for n in tree.body
            if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and not n.name.startswith("_")]


def _params(fn: ast.FunctionDef, method: bool = True) -> list[dict[str, Any]]:
    args = fn.args
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    out: list[dict[str, Any]] = []
    for i, a in enumerate(positional):
        out.append({"name": a.arg, "kind": "positional", "default": i >= first_default})
    if args.vararg:
        out.append({"name": args.vararg.arg, "kind": "var_positional", "default": True})
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append({"name": a.arg, "kind": "keyword_only", "default": d is not None})
    if args.kwarg:
        out.append({"name": args.kwarg.arg, "kind": "var_keyword", "default": True})
    decorators = {ast.unparse(d) for d in fn.decorator_list}
    if method and positional and "staticmethod" not in decorators:
        out = out[1:]  # self / cls
    return out


def _generic_params(cls: ast.ClassDef, typevars: set[str]) -> int:
    """Type parameters as :mod:`typing` counts them: ``Generic[...]``, else TypeVars in bases."""
    seen: list[str] = []
    for base in cls.bases:
        if isinstance(base, ast.Subscript) and ast.unparse(base.value) == "Generic":
            return len(base.slice.elts) if isinstance(base.slice, ast.Tuple) else 1
        if isinstance(base, ast.Subscript):
            for node in ast.walk(base.slice):
                if isinstance(node, ast.Name) and node.id in typevars and node.id not in seen:
                    seen.append(node.id)
    return len(seen)


def _describe_class(cls: ast.ClassDef, typevars: set[str]) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and (not node.name.startswith("_")
                                                  or node.name == "__init__"):
            decorators = [ast.unparse(d) for d in node.decorator_list]
            kind = ("property" if any(d == "property" or d.endswith(".setter")
                                      for d in decorators)
                    else "staticmethod" if "staticmethod" in decorators
                    else "classmethod" if "classmethod" in decorators else "method")
            if kind == "property" and node.name in methods:
                continue
            methods[node.name] = {"kind": kind, "params": _params(node),
                                  "abstract": "abstractmethod" in decorators}
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            nested[node.name] = _describe_class(node, typevars)
    return {"kind": "class", "bases": [ast.unparse(b) for b in cls.bases],
            "generic_params": _generic_params(cls, typevars), "methods": methods,
            "nested": nested}


def extract(root: Path) -> dict[str, Any]:
    """The surface of the ``pyflink`` package at ``root`` as a JSON-ready dict."""
    tree = Tree(root)
    version_ns: dict[str, str] = {}
    exec((root / "version.py").read_text(), version_ns)  # one assignment: __version__
    modules: dict[str, Any] = {}
    absent: list[str] = []
    for rel in MODULES:
        module = f"pyflink.{rel}"
        parsed = tree.parse(module)
        if parsed is None:
            absent.append(module)
            continue
        modules[module] = {name: None for name in _public_names(parsed)}
    # resolve after every module is parsed, so TypeVars imported from elsewhere are known
    for module, names in modules.items():
        for name in names:
            tree.resolve(module, name)
    typevars = tree.typevars()
    for module, names in modules.items():
        for name in list(names):
            where = tree.resolve(module, name)
            if where is None:
                names[name] = {"kind": "unresolved"}
                continue
            defined_in, node = where
            if isinstance(node, ast.ClassDef):
                entry = _describe_class(node, typevars)
            elif isinstance(node, ast.FunctionDef):
                entry = {"kind": "function", "params": _params(node, method=False)}
            else:
                entry = {"kind": "value"}
            entry["defined_in"] = defined_in
            names[name] = entry
    return {"pyflink_version": version_ns["__version__"],
            "produced_by": "tests/tools/pyflink_surface.py",
            "absent_modules": absent, "modules": modules}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    json.dump(extract(Path(argv[1])), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
