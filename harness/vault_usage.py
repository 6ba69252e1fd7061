"""Which vault keys a script reads, found by reading its source (it is never run).

``ipe vault missing`` must answer "which entries does this extension need?" before anything is
deployed, so it cannot run the script: a script typically calls an external service with the
very secret it reads.  The script is parsed with :mod:`ast` instead, and these reads are found:

* ``vault_parameters["k"]`` (also as the target of ``+=`` and friends, which reads first),
* ``vault_parameters.get("k")`` / ``.get("k", default)``, ``.pop(...)``, ``.setdefault(...)``,
* ``"k" in vault_parameters`` and ``"k" not in vault_parameters``,
* the same through a plain alias: ``vp = vault_parameters`` then ``vp["k"]``,
* the same with the key in a name bound once, to a string literal, in the whole script
  (``KEY = "pim_api_password"`` then ``vault_parameters[KEY]``): the way scripts name their keys.

A key that is not a string literal (a variable, an f-string, a concatenation) cannot be known
without running the script, and neither can the keys read by code the whole ``vault_parameters``
is handed to (``helper(vault_parameters)``, ``for k in vault_parameters``, ``**vault_parameters``).
Those lines are reported in :attr:`VaultUsage.dynamic` so the user can check them by hand, rather
than being silently missed.

Aliases are found by name across the whole script, not per function scope: a name once assigned
``vault_parameters`` counts as an alias everywhere.  That is cheap, and over-reporting a key is
safer than missing one.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from harness.errors import HarnessError

__all__ = ["VAULT_NAME", "VaultUsage", "vault_keys"]

VAULT_NAME = "vault_parameters"
"""The global Coveo gives every extension script."""

_READ_METHODS = frozenset({"get", "pop", "setdefault"})


@dataclass
class VaultUsage:
    """The vault keys a script reads, each with the lines that read it, and the lines we cannot resolve."""

    keys: dict[str, list[int]] = field(default_factory=dict)
    """Key -> the sorted line numbers that read it."""
    dynamic: list[int] = field(default_factory=list)
    """Sorted lines where a key is built at run time, or the whole ``vault_parameters`` is handed on."""


def vault_keys(source: str, filename: str) -> VaultUsage:
    """Find the vault keys ``source`` reads; a syntax error is a HarnessError naming file and line."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"{filename}:{exc.lineno}" if exc.lineno else filename
        raise HarnessError(f"{where}: syntax error: {exc.msg}") from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise HarnessError(f"{filename}: cannot parse script ({exc})") from None
    names = _aliases(tree)
    finder = _Finder(names, _constants(tree))
    finder.visit(tree)
    keys = {key: sorted(set(lines)) for key, lines in sorted(finder.keys.items())}
    return VaultUsage(keys, sorted(set(finder.dynamic)))


def _is_vault(node: ast.AST, names: frozenset[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def _aliases(tree: ast.AST) -> frozenset[str]:
    """``vault_parameters`` and every name assigned it directly (``vp = vault_parameters``), transitively."""
    pairs: list[tuple[str, str]] = []  # (alias, source name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            pairs += [(t.id, node.value.id) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(node.value, ast.Name):
            if isinstance(node.target, ast.Name):
                pairs.append((node.target.id, node.value.id))
    names = {VAULT_NAME}
    changed = True
    while changed:
        changed = False
        for alias, source in pairs:
            if source in names and alias not in names:
                names.add(alias)
                changed = True
    return frozenset(names)


def _constants(tree: ast.AST) -> dict[str, str]:
    """Names bound exactly once in the whole script, and to a string literal: their value is known."""
    bindings: dict[str, int] = {}
    literal: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bindings[node.id] = bindings.get(node.id, 0) + 1
        elif isinstance(node, ast.arg):
            bindings[node.arg] = bindings.get(node.arg, 0) + 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings[node.name] = bindings.get(node.name, 0) + 1
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                name = (alias.asname or alias.name).split(".")[0]
                bindings[name] = bindings.get(name, 0) + 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                bindings[name] = bindings.get(name, 0) + 2  # rebound elsewhere: not a constant
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and isinstance(node.value.value, str):
                literal[targets[0].id] = node.value.value
    return {name: value for name, value in literal.items() if bindings.get(name) == 1}


class _Finder(ast.NodeVisitor):
    """Collects key reads; every other load of a vault name is a use we cannot resolve."""

    def __init__(self, names: frozenset[str], constants: dict[str, str] | None = None) -> None:
        self.names = names
        self.constants = constants or {}
        self.keys: dict[str, list[int]] = {}
        self.dynamic: list[int] = []
        self._handled: set[int] = set()  # ids of vault Name nodes already accounted for

    def _key(self, expr: ast.expr, line: int) -> None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            self.keys.setdefault(expr.value, []).append(line)
        elif isinstance(expr, ast.Name) and expr.id in self.constants:
            self.keys.setdefault(self.constants[expr.id], []).append(line)
        else:
            self.dynamic.append(line)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _is_vault(node.value, self.names):
            self._handled.add(id(node.value))
            # A plain store or del is not a read; `vp["k"] += x` reads first (visit_AugAssign).
            if isinstance(node.ctx, ast.Load):
                self._key(node.slice, node.lineno)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Subscript) and _is_vault(target.value, self.names):
            self._key(target.slice, target.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _READ_METHODS
            and _is_vault(func.value, self.names)
        ):
            self._handled.add(id(func.value))
            if node.args and not isinstance(node.args[0], ast.Starred):
                self._key(node.args[0], node.lineno)
            else:
                self.dynamic.append(node.lineno)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)) and _is_vault(right, self.names):
                self._handled.add(id(right))
                self._key(left, node.lineno)
            left = right
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if _is_vault(node.value, self.names) and all(isinstance(t, ast.Name) for t in node.targets):
            self._handled.add(id(node.value))  # an alias, followed by _aliases
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None and _is_vault(node.value, self.names) and isinstance(node.target, ast.Name):
            self._handled.add(id(node.value))
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        if _is_vault(node.value, self.names):
            self._handled.add(id(node.value))
        self.generic_visit(node)

    def _truth_test(self, expr: ast.expr) -> None:
        """``if vault_parameters:`` or ``not vp`` asks whether there are entries, not which: no key read."""
        if _is_vault(expr, self.names):
            self._handled.add(id(expr))

    def visit_If(self, node: ast.If) -> None:
        self._truth_test(node.test)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._truth_test(node.test)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._truth_test(node.test)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._truth_test(node.operand)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.names and isinstance(node.ctx, ast.Load) and id(node) not in self._handled:
            self.dynamic.append(node.lineno)
