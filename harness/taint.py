"""Static leak detection: where can a vault value flow, in an IPE script, without running it?

The runtime leak check only sees the paths that the sample documents take.  This pass reads the
script with :mod:`ast` (it never executes it) and follows every value read from
``vault_parameters`` into the places where it would get out, on *every* branch, including the
ones no sample document reaches (an ``if False:``, a rare error path, a function nobody calls).

What it follows
    * Reads of the vault: ``vault_parameters['k']``, ``vault_parameters.get('k')``,
      ``.get(k, default)``, ``.pop``/``.setdefault``, ``.values()`` / ``.items()`` iteration,
      ``dict(vault_parameters)``, ``.copy()``, ``{**vault_parameters}`` and the mapping itself.
      A key given as a constant (or a name bound only to one constant string) is reported by
      name; any other key is reported as ``None`` (unknown).
    * Assignments: plain, tuple unpacking (element by element when the shape is known),
      augmented, annotated, walrus, ``for`` targets, ``with ... as``, ``except ... as``,
      ``match`` captures, comprehension variables.
    * Expressions that carry a value into a new one: f-strings, ``%`` formatting,
      ``.format(...)``, ``+``, ``str()``/``repr()``/``bytes()``, ``.encode()``/``.decode()``,
      ``base64``, ``json.dumps``, ``urllib.parse.quote``, string methods (``.upper()``,
      ``.strip()``, ``.replace()``, ``.join()``, slicing: part of a secret is a leak),
      ``a or b``, conditional expressions, containers (list/tuple/dict/set displays,
      comprehensions, ``append``/``extend``/``update``/item assignment), and attribute or item
      reads of a container that holds a vault value (dict displays with constant keys are
      followed key by key, tuples position by position).
    * Functions defined in the script: a call with a vault value taints the parameter it lands
      in (positional, keyword, defaults), a function that returns (or yields) one taints its
      call; methods of classes defined in the script through ``self``; lambdas; functions
      stored in variables or containers.
    * Exceptions: a ``raise`` (or ``assert`` message) built from a vault value, and the URL of an
      HTTP call (``requests`` quotes it in its errors), taint the ``except ... as e`` name of the
      ``try`` around them, ``traceback.format_exc()`` and ``logger.exception(...)``.

Sinks (``Flow.channel``)
    ``log`` (``log()``, ``document.log()``), ``stdout``/``stderr`` (``print``, ``sys.stdout.write``,
    ``print(file=sys.stderr)``, ``traceback.print_exc``, ``warnings.warn``, ``sys.exit``),
    ``logging`` (``logging.*``, loggers), ``exception`` (``raise``, ``assert`` messages),
    ``metadata`` (``add_meta_data``), ``data_stream`` (``DataStream.write``/``writelines``,
    ``add_data_stream``), ``permissions`` (``document.Permission``/``PermissionSet``/
    ``PermissionLevel``, ``add_allowed``, ``add_denied``, ``set_permissions``), ``url`` (the URL
    and ``params=`` of ``requests`` calls, ``Session`` methods, ``urllib.request.urlopen`` and
    ``Request``), ``plain_http`` (``headers=``, ``auth=``, ``data=``, ``json=``, ``files=``,
    ``cookies=`` or a session's credentials sent to a URL whose literal starts with
    ``http://``), ``file`` (``open(...).write``, ``json.dump`` to a file, ``Path.write_text``,
    ``print(file=f)``), ``reason`` (``document.reject``/``document.skip``) and ``socket``
    (``socket.sendto``/``sendmsg``, ``socket.gethostbyname``/``gethostbyname_ex``/``getaddrinfo``/
    ``create_connection``).  A logger or level name (``logging.getLogger``, ``logging.addLevelName``)
    is ``logging``; a ``DataStream`` name is ``data_stream``.  The channel list itself is
    :data:`harness.fields.CHANNELS`, the one the runtime walker uses, minus the channels only a
    run can see (:data:`harness.fields.RUNTIME_ONLY`).

Deliberately *not* leaks
    * Credentials in ``headers=``, ``auth=``, ``data=``, ``json=`` of an HTTPS (or unknown-scheme)
      request: that is what the vault is for.
    * A digest (``hashlib``, ``hmac``, ``zlib.crc32``): it does not reveal the value; a hash of
      a short or guessable secret can be brute-forced, so do not publish one carelessly.
    * ``len(secret)``, ``bool(secret)``, comparisons, ``in``, ``if secret:``: a length or a yes/no
      answer is not the value.
    * Key names (``for key in vault_parameters``, ``.keys()``): keys are not secret.

What it cannot follow (reported in ``TaintReport.limits`` with the line, when the script does it)
    * ``eval``/``exec``/``compile``/``__import__``/``importlib.import_module``,
      ``globals()``/``locals()``/``vars()``, ``getattr``/``setattr`` with a computed name,
      ``from m import *``.
    * Values stored on object attributes (``self.token = secret``): followed by attribute *name*
      only, so any ``.token`` read anywhere carries it.
    * Calls into imported modules other than the standard library and ``requests``
      (``boto3``, ``pymongo``, ...): what they do with a vault value is not followed, and their
      results are assumed not to carry it.
    * Calls through a value it cannot resolve (a callback parameter), decorators other than
      ``staticmethod``/``classmethod``/``property``, and ``*args``/``**kwargs`` spreading into a
      script function (every parameter is then assumed to receive the values).
    * Within a function the analysis is flow-insensitive: a name that ever holds a vault value is
      treated as holding it everywhere in that function (re-using a name for a clean value later
      still counts).  Every branch is assumed reachable, and an exception is reported where it is
      raised even if the script catches it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from harness.errors import HarnessError
from harness.fields import CHANNELS as OUTPUT_CHANNELS
from harness.fields import RUNTIME_ONLY

__all__ = ["CHANNELS", "Flow", "TaintReport", "find_flows"]

CHANNELS = tuple(channel for channel in OUTPUT_CHANNELS if channel not in RUNTIME_ONLY)
"""The channels of :mod:`harness.fields` a script's code can write to (the runtime-only ones
are the item's URI, the allowedHosts rule and the harness's own naming)."""


@dataclass(frozen=True)
class Flow:
    """One place where a vault value can get out.

    ``key`` is the vault key, or ``None`` when the script reads it with a key computed at run
    time (or hands over the whole mapping).  ``line``/``col`` locate the sink (1-based line,
    0-based column, as :mod:`ast` gives them); ``via`` names the variables and functions the
    value went through, when it did not go straight to the sink.
    """

    key: str | None
    channel: str
    line: int
    col: int
    sink: str
    via: str | None = None


@dataclass
class TaintReport:
    """What :func:`find_flows` found in one script: flows sorted by line, and its blind spots."""

    filename: str
    flows: list[Flow]
    limits: list[str]


def find_flows(source: str, filename: str = "extension.py") -> TaintReport:
    """Find every flow of a vault value into a sink in ``source``, without running it.

    A script that does not parse raises :class:`HarnessError` naming ``filename`` and the line:
    nothing can be said about a script that Coveo would not run either.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        raise HarnessError(f"{filename}: syntax error at {where}: {exc.msg}") from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise HarnessError(f"{filename}: not a Python script ({exc})") from None
    analysis = _Analysis(tree)
    analysis.run()
    flows = sorted(analysis.flows, key=lambda f: (f.line, f.col, f.channel, f.key or "", f.sink))
    limits = [f"{filename}:{line}: {text}" for line, text in sorted(analysis.limits)]
    return TaintReport(filename=filename, flows=flows, limits=limits)


# --------------------------------------------------------------------------------------------
# Abstract values
# --------------------------------------------------------------------------------------------

_MAX_DEPTH = 3
_MAX_VIA = 6
_MAX_PASSES = 60
_MAX_SYM_DOTS = 3


@dataclass(frozen=True)
class _Val:
    """What the analysis knows about a value: which vault keys may be in it, and what it is.

    ``keys`` holds vault keys (``None`` for unknown) carried by the value as a whole; ``parts``
    and ``fields`` keep tuples/lists position by position and dict displays with constant keys
    key by key, so ``user, pw = parameters['u'], vault_parameters['pw']`` taints ``pw`` only.
    ``kinds`` marks objects that matter to sinks: ``vault`` (the mapping itself), ``stream``,
    ``file``, ``path``, ``session``, ``logger``, ``hash``, ``sym:<dotted name>`` (an imported
    or built-in name), ``fn:<id>``/``bm:<id>``/``cls:<id>``/``inst:<id>`` (script functions,
    bound methods, classes, instances), ``ext:<module>`` (objects from modules not followed).
    ``prefix``/``const`` keep what is known of a string's text, to tell ``http://`` URLs and
    constant vault keys.  ``via`` is a hint for the report and takes no part in equality.
    """

    keys: frozenset[str | None] = frozenset()
    kinds: frozenset[str] = frozenset()
    parts: tuple[_Val, ...] | None = None
    fields: tuple[tuple[str, _Val], ...] | None = None
    prefix: str | None = None
    const: str | None = None
    via: tuple[str, ...] = field(default=(), compare=False)


_CLEAN = _Val()
_VAULT_KINDS = frozenset({"vault", "vault_items"})
_ELEMENT_KINDS = frozenset({"stream", "file", "path", "session", "logger", "vault"})
_OBJECT_PREFIXES = ("fn:", "bm:", "cls:", "inst:", "ext:")


def _flat(v: _Val) -> frozenset[str | None]:
    """Every vault key the value may reveal once turned into text."""
    out = set(v.keys)
    if v.kinds & _VAULT_KINDS:
        out.add(None)
    for part in v.parts or ():
        out |= _flat(part)
    for _, part in v.fields or ():
        out |= _flat(part)
    return frozenset(out)


def _via(v: _Val) -> tuple[str, ...]:
    if v.via or (v.keys or v.kinds & _VAULT_KINDS):
        return v.via
    for part in list(v.parts or ()) + [p for _, p in v.fields or ()]:
        if _flat(part):
            return _via(part)
    return ()


def _elem_kinds(v: _Val) -> frozenset[str]:
    return frozenset(k for k in v.kinds if k in _ELEMENT_KINDS or k.startswith(_OBJECT_PREFIXES))


def _text(*vals: _Val) -> _Val:
    """A new string (or other scalar) built from ``vals``: their vault keys, nothing else."""
    keys: set[str | None] = set()
    via: tuple[str, ...] = ()
    for v in vals:
        flat = _flat(v)
        if flat and not via:
            via = _via(v)
        keys |= flat
    return _Val(keys=frozenset(keys), via=via) if keys else _CLEAN


def _collapse(v: _Val) -> _Val:
    """The same value with its shape forgotten for good (a container of unknown layout).

    The ``mixed`` kind records that the shape was given up, so that a later join does not adopt
    a shape again: without it the fixpoint could flip between shaped and shapeless forever.
    """
    if v.parts is None and v.fields is None:
        return v
    keys = _flat(v) - ({None} if v.kinds & _VAULT_KINDS else set())
    return _Val(keys=keys, kinds=v.kinds | {"mixed"}, via=_via(v))


def _depth(v: _Val) -> int:
    inner = list(v.parts or ()) + [p for _, p in v.fields or ()]
    return 1 + max((_depth(p) for p in inner), default=0)


def _join(a: _Val | None, b: _Val) -> _Val:
    """The least value that is at least ``a`` and at least ``b`` (``a`` None: nothing yet)."""
    if a is None or a == b:
        return b if a is None else a
    parts: tuple[_Val, ...] | None = None
    fields: tuple[tuple[str, _Val], ...] | None = None
    keys = a.keys | b.keys
    kinds = a.kinds | b.kinds
    # A clean value of no particular shape (``x = None`` before ``x = (a, b)``) lets the other
    # side keep its shape; two different shapes, or a shape and a tainted blob, lose it.
    a_blank = a.parts is None and a.fields is None and not _flat(a) and "mixed" not in a.kinds
    b_blank = b.parts is None and b.fields is None and not _flat(b) and "mixed" not in b.kinds
    if a.parts is not None and b.parts is not None and len(a.parts) == len(b.parts):
        parts = tuple(_join(x, y) for x, y in zip(a.parts, b.parts))
    elif a.parts is not None and b_blank:
        parts = a.parts
    elif b.parts is not None and a_blank:
        parts = b.parts
    elif a.parts is not None or b.parts is not None:
        keys |= _collapse(a).keys | _collapse(b).keys
        kinds |= {"mixed"}
    if a.fields is not None and b.fields is not None:
        merged = dict(a.fields)
        for name, value in b.fields:
            merged[name] = _join(merged.get(name), value)
        fields = tuple(sorted(merged.items()))
    elif a.fields is not None and b_blank:
        fields = a.fields
    elif b.fields is not None and a_blank:
        fields = b.fields
    elif a.fields is not None or b.fields is not None:
        keys |= _collapse(a).keys | _collapse(b).keys
        kinds |= {"mixed"}
    if parts is not None and fields is not None:  # a tuple here, a dict there: no shape
        keys |= _flat(_Val(parts=parts)) | _flat(_Val(fields=fields))
        parts, fields = None, None
        kinds |= {"mixed"}
    if a.prefix is None or b.prefix is None:
        prefix = None
    else:
        prefix = a.prefix
        while not b.prefix.startswith(prefix):
            prefix = prefix[:-1]
    const = a.const if a.const == b.const else None
    via = a.via if _flat(a) else b.via
    out = _Val(keys, frozenset(kinds), parts, fields, prefix, const, via)
    return _collapse(out) if _depth(out) > _MAX_DEPTH else out


def _join_all(vals: Iterable[_Val]) -> _Val:
    out: _Val | None = None
    for v in vals:
        out = _join(out, v)
    return out or _CLEAN


def _with_via(v: _Val, step: str) -> _Val:
    route = _via(v)
    if not _flat(v) or len(route) >= _MAX_VIA:
        return v
    return replace(v, via=route + (step,))


# --------------------------------------------------------------------------------------------
# What the analysis knows about names outside the script
# --------------------------------------------------------------------------------------------

_HTTP_VERBS = frozenset({"get", "post", "put", "delete", "patch", "head", "options", "request"})
_BODY_ARGUMENTS = ("headers", "auth", "data", "json", "files", "cookies")
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
_MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft",
                       "write", "writelines"})
_PERMISSION_CALLS = {
    "document.Permission": "Permission()",
    "document.PermissionSet": "PermissionSet()",
    "document.PermissionLevel": "PermissionLevel()",
}
_LOGGING_NAMES = frozenset({"logging.getLogger", "logging.addLevelName"})
_SOCKET_CALLS = frozenset({"socket.gethostbyname", "socket.gethostbyname_ex", "socket.getaddrinfo",
                           "socket.create_connection"})
_PERMISSION_METHODS = frozenset({"add_allowed", "add_denied", "set_permissions"})
_CLEAN_BUILTINS = frozenset({"len", "bool", "isinstance", "issubclass", "id", "type", "hash", "callable", "hasattr"})
_HASH_MODULES = frozenset({"hashlib", "hmac"})
_HASH_CALLS = frozenset({"zlib.crc32", "zlib.adler32", "binascii.crc32", "secrets.compare_digest"})
_DYNAMIC_CODE = frozenset({"eval", "exec", "compile", "__import__", "importlib.import_module", "importlib.__import__"})
_INTROSPECTION = frozenset({"globals", "locals", "vars"})
_KNOWN_DECORATORS = frozenset({"staticmethod", "classmethod", "property", "functools.wraps", "functools.lru_cache",
                               "functools.cache", "dataclasses.dataclass", "abc.abstractmethod"})
_SCRIPT_GLOBALS = frozenset({"document", "log", "parameters", "vault_parameters"})
# Modules whose functions turn their arguments into their result (or have no effect worth
# following): a vault value passed to them stays in the result.  Anything else imported is a
# module the analysis does not follow.
_KNOWN_MODULES = frozenset({
    "abc", "base64", "binascii", "builtins", "calendar", "codecs", "collections", "copy", "csv",
    "dataclasses", "datetime", "decimal", "email", "enum", "functools", "gzip", "hashlib",
    "hmac", "html", "http", "io", "itertools", "json", "logging", "lzma", "math", "operator",
    "os", "pathlib", "pprint", "quopri", "random", "re", "requests", "secrets", "shlex",
    "string", "struct", "sys", "textwrap", "time", "traceback", "typing", "unicodedata",
    "urllib", "uuid", "warnings", "xml", "zlib",
})
_LOGGER_NAME = re.compile(r"logger", re.IGNORECASE)


def _syms(v: _Val) -> list[str]:
    return sorted(k[4:] for k in v.kinds if k.startswith("sym:"))


def _ids(v: _Val, prefix: str) -> list[int]:
    return sorted(int(k[len(prefix):]) for k in v.kinds if k.startswith(prefix))


def _dotted(node: ast.expr) -> str:
    """Source-like text of a callee, for sink descriptions and notes (``self.client.get``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_dotted(node.func)}(...)"
    return "<expression>"


# --------------------------------------------------------------------------------------------
# Scopes, functions and classes of the script
# --------------------------------------------------------------------------------------------


class _Scope:
    """The names of the module, a function, a class body or a comprehension."""

    def __init__(self, kind: str, parent: _Scope | None, local: set[str], declared_global: set[str],
                 declared_nonlocal: set[str]) -> None:
        self.kind = kind  # "module" | "function" | "class" | "comp"
        self.parent = parent
        self.local = local
        self.declared_global = declared_global
        self.declared_nonlocal = declared_nonlocal
        self.names: dict[str, _Val] = {}


class _Func:
    """A function (or lambda) of the script and what the analysis learnt about its calls."""

    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, name: str, scope: _Scope,
                 cls: int | None, kind: str) -> None:
        self.node = node
        self.name = name
        self.scope = scope
        self.cls = cls
        self.kind = kind  # "function" | "method" | "static" | "class"
        args = node.args
        self.positional = [a.arg for a in args.posonlyargs + args.args]
        self.keyword_only = [a.arg for a in args.kwonlyargs]
        self.vararg = args.vararg.arg if args.vararg else None
        self.kwarg = args.kwarg.arg if args.kwarg else None
        self.params: dict[str, _Val] = {}
        self.returns: _Val | None = None
        self.raises: _Val | None = None


class _Class:
    """A class of the script: its methods (by name) and its base classes defined in the script."""

    def __init__(self, node: ast.ClassDef, scope: _Scope) -> None:
        self.node = node
        self.scope = scope
        self.methods: dict[str, int] = {}
        self.bases: list[int] = []


def _type_checking_only(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): a block that never runs, in Coveo or here.

    Scripts import their globals' declarations there for editors (``harness.ipe_globals``); binding
    those names would hide the real ``vault_parameters`` from the analysis.
    """
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets_names(target: ast.expr) -> Iterator[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def _pattern_names(pattern: ast.pattern) -> Iterator[str]:
    for node in ast.walk(pattern):
        if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            yield node.name
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node.rest


def _bound_names(body: Sequence[ast.AST]) -> tuple[set[str], set[str], set[str]]:
    """Names a block binds (Python's local names), and its ``global``/``nonlocal`` declarations.

    Nested functions, classes and lambdas are their own scopes; comprehensions too, except for
    walrus targets, which Python binds in the enclosing function.
    """
    local: set[str] = set()
    glob: set[str] = set()
    nonloc: set[str] = set()

    def visit(node: ast.AST, in_comp: bool) -> None:
        if _type_checking_only(node):
            for stmt in node.orelse:  # type: ignore[attr-defined]
                visit(stmt, in_comp)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not in_comp:
                local.add(node.name)
            for dec in node.decorator_list:
                visit(dec, in_comp)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Global):
            glob.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            nonloc.update(node.names)
        elif isinstance(node, ast.NamedExpr):
            local.update(_targets_names(node.target))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and not in_comp:
            local.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and not in_comp:
            for alias in node.names:
                if alias.name != "*":
                    local.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name and not in_comp:
            local.add(node.name)
        elif isinstance(node, ast.match_case) and not in_comp:
            local.update(_pattern_names(node.pattern))
        comp = in_comp or isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
        for child in ast.iter_child_nodes(node):
            visit(child, comp)

    for stmt in body:
        visit(stmt, False)
    return local - glob - nonloc, glob, nonloc


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


class _Analysis:
    """Abstract interpretation of the whole script, repeated until nothing new is learnt.

    Every pass walks the module, every function body and every branch once, joining what each
    assignment, call and ``return`` contributes into the names and function summaries; when a
    pass changes nothing, a last pass records the flows and the limits.
    """

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        local, _, _ = _bound_names(tree.body)
        self.module = _Scope("module", None, local, set(), set())
        self.funcs: dict[int, _Func] = {}
        self.func_ids: dict[int, int] = {}  # id(node) -> func id
        self.classes: dict[int, _Class] = {}
        self.class_ids: dict[int, int] = {}
        self.attrs: dict[str, _Val] = {}
        self.imported_roots: set[str] = set()
        self.changed = False
        self.recording = False
        self.flows: set[Flow] = set()
        self.limits: set[tuple[int, str]] = set()
        self.collectors: list[list[_Val]] = []
        self.handlers: list[_Val] = []
        self.func_stack: list[_Func] = []

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> None:
        for _ in range(_MAX_PASSES):
            self.changed = False
            self.exec_body(self.tree.body, self.module)
            if not self.changed:
                break
        else:
            self.limits.add((1, f"the analysis stopped after {_MAX_PASSES} passes; flows found so far are reported"))
        self.recording = True
        self.exec_body(self.tree.body, self.module)

    def note(self, node: ast.AST, text: str) -> None:
        if self.recording:
            self.limits.add((getattr(node, "lineno", 1), text))

    def report(self, channel: str, vals: Iterable[_Val], node: ast.AST, sink: str) -> None:
        value = _text(*vals)
        if not self.recording or not value.keys:
            return
        via = " -> ".join(value.via) or None
        for key in value.keys:
            self.flows.add(Flow(key, channel, node.lineno, node.col_offset, sink, via))  # type: ignore[attr-defined]

    def add_raised(self, v: _Val) -> None:
        """An exception carrying ``v`` may be raised here: the enclosing ``try``s see it."""
        if not _flat(v):
            return
        for collector in self.collectors:
            collector.append(v)
        if self.func_stack:
            func = self.func_stack[-1]
            joined = _join(func.raises, _text(v))
            if joined != func.raises:
                func.raises = joined
                self.changed = True

    # -- names -------------------------------------------------------------------------------

    def lookup(self, scope: _Scope, name: str) -> _Val:
        s: _Scope | None = scope
        while s is not None:
            if s.kind == "comp":
                if name in s.names:
                    return s.names[name]
            elif s.kind == "class" and s is not scope:
                pass  # class bodies are invisible to the functions inside them
            elif name in s.declared_global:
                s = self.module
                continue
            elif name in s.local or name in s.names:
                return s.names.get(name, _CLEAN)
            s = s.parent
        if name == "vault_parameters":
            return _Val(kinds=frozenset({"vault"}))
        return _Val(kinds=frozenset({f"sym:{name}"}))

    def store_scope(self, scope: _Scope, name: str, walrus: bool = False) -> _Scope:
        s = scope
        if walrus:
            while s.kind == "comp" and s.parent is not None:
                s = s.parent
        if name in s.declared_global:
            return self.module
        if name in s.declared_nonlocal:
            p = s.parent
            while p is not None and not (p.kind == "function" and name in p.local):
                p = p.parent
            return p or self.module
        return s

    def bind(self, scope: _Scope, name: str, v: _Val, walrus: bool = False, step: bool = True) -> None:
        target = self.store_scope(scope, name, walrus)
        new = _with_via(v, name) if step else v
        old = target.names.get(name)
        joined = _join(old, new)
        if joined != old:
            target.names[name] = joined
            if target.kind != "comp":
                self.changed = True
        if target.kind == "class" and _flat(v):
            self.store_attr(name, v, None)

    def store_attr(self, attr: str, v: _Val, node: ast.AST | None) -> None:
        if not _flat(v) and not _elem_kinds(v):
            return
        old = self.attrs.get(attr)
        joined = _join(old, _with_via(v, f".{attr}"))
        if joined != old:
            self.attrs[attr] = joined
            self.changed = True
        if _flat(v) and node is not None:
            self.note(node, f"a vault value is stored on attribute '.{attr}'; it is followed by attribute name "
                            f"only, so every '.{attr}' read in the script is treated as carrying it")

    # -- assignments ------------------------------------------------------------------------

    def assign(self, target: ast.expr, v: _Val, scope: _Scope) -> None:
        if isinstance(target, ast.Name):
            self.bind(scope, target.id, v)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, _collapse(self.element(v)), scope)
        elif isinstance(target, (ast.Tuple, ast.List)):
            starred = any(isinstance(e, ast.Starred) for e in target.elts)
            if v.parts is not None and not starred and len(v.parts) == len(target.elts):
                for elt, part in zip(target.elts, v.parts):
                    self.assign(elt, part, scope)
            else:
                item = self.element(v)
                for elt in target.elts:
                    self.assign(elt, item, scope)
        elif isinstance(target, ast.Attribute):
            base = self.ev(target.value, scope)
            if "session" in base.kinds:
                self.store_into(target.value, v, None, scope)
            else:
                self.store_attr(target.attr, v, target)
        elif isinstance(target, ast.Subscript):
            index = self.ev(target.slice, scope)
            self.store_into(target.value, v, index.const, scope)

    def store_into(self, container: ast.expr, item: _Val, key: str | None, scope: _Scope) -> None:
        """``container[key] = item`` (or ``container.append(item)`` ...): a weak update."""
        if not _flat(item) and not _elem_kinds(item):
            return
        if isinstance(container, ast.Name):
            old = self.lookup(scope, container.id)
            if old.fields is not None and key is not None:
                fields = dict(old.fields)
                fields[key] = _join(fields.get(key), item)
                new = replace(old, fields=tuple(sorted(fields.items())))
            else:
                new = _join(old, _Val(keys=_flat(item), kinds=_elem_kinds(item), via=_via(item)))
            self.bind(scope, container.id, new, step=not old.via)
        elif isinstance(container, ast.Attribute):
            base = self.ev(container.value, scope)
            if _syms(base):
                return  # an attribute of a module (os.environ[...] = ...): not the script's object
            if "session" in base.kinds:
                self.store_into(container.value, item, None, scope)
            else:
                self.store_attr(container.attr, _text(item), container)
        elif isinstance(container, ast.Subscript):
            self.store_into(container.value, _text(item), None, scope)

    def element(self, v: _Val) -> _Val:
        """What iterating over (or unpacking) ``v`` gives."""
        if v.parts is not None:
            return _join_all(v.parts)
        if "vault_items" in v.kinds:
            return _Val(parts=(_CLEAN, _Val(keys=frozenset({None}), via=v.via)))
        if "vault" in v.kinds:  # iterating a mapping gives its keys, which are not secret
            return _Val(keys=v.keys, via=v.via) if v.keys else _CLEAN
        if v.fields is not None:  # a dict display: its keys are constants
            return _Val(keys=v.keys, via=v.via) if v.keys else _CLEAN
        flat = _flat(v)
        return _Val(keys=flat, kinds=_elem_kinds(v), via=_via(v))

    def iterated(self, node: ast.expr, scope: _Scope) -> _Val:
        """The loop variable's value for ``for x in node``, with enumerate/zip/.items() kept apart."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            callee = self.lookup(scope, node.func.id)
            if "sym:enumerate" in callee.kinds:
                for extra in node.args[1:]:
                    self.ev(extra, scope)
                return _Val(parts=(_CLEAN, self.iterated(node.args[0], scope)))
            if "sym:zip" in callee.kinds and not any(isinstance(a, ast.Starred) for a in node.args):
                return _Val(parts=tuple(self.iterated(a, scope) for a in node.args))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "items"
                and not node.args):
            recv = self.ev(node.func.value, scope)
            if recv.fields is not None:
                return _Val(parts=(_CLEAN, _Val(keys=_flat(recv), via=_via(recv)) if _flat(recv) else _CLEAN))
            if not recv.kinds & _VAULT_KINDS:
                inner = _text(recv)
                return _Val(parts=(inner, inner))
        return self.element(self.ev(node, scope))

    # -- statements -------------------------------------------------------------------------

    def exec_body(self, body: Sequence[ast.stmt], scope: _Scope) -> None:
        for stmt in body:
            self.exec_stmt(stmt, scope)

    def exec_stmt(self, node: ast.stmt, scope: _Scope) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.define_function(node, scope)
        elif isinstance(node, ast.ClassDef):
            self.define_class(node, scope)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                self.returned(self.ev(node.value, scope))
        elif isinstance(node, ast.Assign):
            value = self.ev(node.value, scope)
            for target in node.targets:
                self.assign(target, value, scope)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.ev(node.value, scope), scope)
        elif isinstance(node, ast.AugAssign):
            value = self.ev(node.value, scope)
            current = self.ev(node.target, scope)
            combined = _join(current, _Val(keys=_flat(value), kinds=_elem_kinds(value), via=_via(value)))
            if isinstance(node.target, ast.Name):
                self.bind(scope, node.target.id, combined)
            else:
                self.assign(node.target, combined, scope)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.assign(node.target, self.iterated(node.iter, scope), scope)
            self.exec_body(node.body, scope)
            self.exec_body(node.orelse, scope)
        elif _type_checking_only(node):
            self.exec_body(node.orelse, scope)  # type: ignore[attr-defined]
        elif isinstance(node, (ast.While, ast.If)):
            self.ev(node.test, scope)
            self.exec_body(node.body, scope)
            self.exec_body(node.orelse, scope)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                value = self.ev(item.context_expr, scope)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, value, scope)
            self.exec_body(node.body, scope)
        elif isinstance(node, ast.Raise):
            if node.exc is not None:
                value = self.ev(node.exc, scope)
                self.report("exception", [value], node, "raise")
                self.add_raised(value)
            if node.cause is not None:
                self.ev(node.cause, scope)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.exec_try(node, scope)  # type: ignore[arg-type]
        elif isinstance(node, ast.Assert):
            self.ev(node.test, scope)
            if node.msg is not None:
                value = self.ev(node.msg, scope)
                self.report("exception", [value], node, "assert message")
                self.add_raised(value)
        elif isinstance(node, ast.Expr):
            self.ev(node.value, scope)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self.exec_import(node, scope)
        elif isinstance(node, ast.Match):
            subject = self.ev(node.subject, scope)
            for case in node.cases:
                # A capture may be the subject or any part of it: it gets everything in it.
                element = self.element(subject)
                captured = _Val(keys=_flat(subject) | _flat(element), kinds=_elem_kinds(subject) | _elem_kinds(element),
                                via=_via(subject) or _via(element))
                for name in _pattern_names(case.pattern):
                    self.bind(scope, name, captured)
                if case.guard is not None:
                    self.ev(case.guard, scope)
                self.exec_body(case.body, scope)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.ev(target, scope)

    def exec_try(self, node: ast.Try, scope: _Scope) -> None:
        collected: list[_Val] = []
        self.collectors.append(collected)
        self.exec_body(node.body, scope)
        self.collectors.pop()
        raised = _text(*collected)
        for outer in self.collectors:  # a handler may re-raise: the outer try sees it too
            outer.extend(collected)
        for handler in node.handlers:
            if handler.type is not None:
                self.ev(handler.type, scope)
            if handler.name:
                self.bind(scope, handler.name, raised)
            self.handlers.append(raised)
            self.exec_body(handler.body, scope)
            self.handlers.pop()
        self.exec_body(node.orelse, scope)
        self.exec_body(node.finalbody, scope)

    def exec_import(self, node: ast.Import | ast.ImportFrom, scope: _Scope) -> None:
        for alias in node.names:
            if isinstance(node, ast.Import):
                root = alias.name.split(".")[0]
                self.imported_roots.add(root)
                if alias.asname:
                    self.bind(scope, alias.asname, _Val(kinds=frozenset({f"sym:{alias.name}"})))
                else:
                    self.bind(scope, root, _Val(kinds=frozenset({f"sym:{root}"})))
            else:
                module = "." * node.level + (node.module or "")
                self.imported_roots.add(module.split(".")[0] if not node.level else module)
                if alias.name == "*":
                    self.note(node, f"'from {module} import *' brings names the analysis does not know")
                    continue
                self.bind(scope, alias.asname or alias.name, _Val(kinds=frozenset({f"sym:{module}.{alias.name}"})))

    def returned(self, v: _Val) -> None:
        if not self.func_stack:
            return
        func = self.func_stack[-1]
        joined = _join(func.returns, v)
        if joined != func.returns:
            func.returns = joined
            self.changed = True

    # -- functions and classes --------------------------------------------------------------

    def function_for(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, scope: _Scope,
                     cls: int | None) -> _Func:
        fid = self.func_ids.get(id(node))
        if fid is not None:
            return self.funcs[fid]
        if isinstance(node, ast.Lambda):
            body: list[ast.AST] = [node.body]
            name = "<lambda>"
        else:
            body = list(node.body)
            name = node.name
        local, glob, nonloc = _bound_names(body)
        local |= {a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs}
        local |= {a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None}
        fscope = _Scope("function", scope, local - glob - nonloc, glob, nonloc)
        kind = "function"
        if cls is not None and not isinstance(node, ast.Lambda):
            decorators = {_dotted(d) for d in node.decorator_list}
            kind = "static" if "staticmethod" in decorators else "class" if "classmethod" in decorators else "method"
        func = _Func(node, name, fscope, cls, kind)
        fid = len(self.funcs)
        self.funcs[fid] = func
        self.func_ids[id(node)] = fid
        return func

    def analyse_function(self, func: _Func, scope: _Scope) -> None:
        args = func.node.args
        positional = args.posonlyargs + args.args
        for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
            self.feed_param(func, arg.arg, self.ev(default, scope))
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
            if kw_default is not None:
                self.feed_param(func, arg.arg, self.ev(kw_default, scope))
        if func.cls is not None and func.kind in ("method", "class") and func.positional:
            first = "inst" if func.kind == "method" else "cls"
            self.feed_param(func, func.positional[0], _Val(kinds=frozenset({f"{first}:{func.cls}"})))
        for name, value in func.params.items():
            self.bind(func.scope, name, value, step=False)
        self.func_stack.append(func)
        collectors, handlers = self.collectors, self.handlers
        self.collectors, self.handlers = [], []
        if isinstance(func.node, ast.Lambda):
            self.returned(self.ev(func.node.body, func.scope))
        else:
            self.exec_body(func.node.body, func.scope)
        self.collectors, self.handlers = collectors, handlers
        self.func_stack.pop()

    def feed_param(self, func: _Func, name: str, v: _Val) -> None:
        old = func.params.get(name)
        joined = _join(old, _with_via(v, f"{func.name}({name})"))
        if joined != old:
            func.params[name] = joined
            self.changed = True

    def define_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> None:
        cls = self.class_ids.get(id(scope)) if scope.kind == "class" else None
        func = self.function_for(node, scope, cls)
        fid = self.func_ids[id(node)]
        for dec in node.decorator_list:
            self.ev(dec, scope)
            name = _dotted(dec.func if isinstance(dec, ast.Call) else dec)
            resolved = _syms(self.ev(dec.func if isinstance(dec, ast.Call) else dec, scope))
            if name not in _KNOWN_DECORATORS and not set(resolved) & _KNOWN_DECORATORS \
                    and not name.endswith((".setter", ".getter", ".deleter")):
                self.note(dec, f"decorator '{name}' on {node.name}() is not followed; calls are assumed to "
                               f"reach {node.name}() directly")
        if cls is not None:
            self.classes[cls].methods[node.name] = fid
        self.bind(scope, node.name, _Val(kinds=frozenset({f"fn:{fid}"})))
        self.analyse_function(func, scope)

    def define_class(self, node: ast.ClassDef, scope: _Scope) -> None:
        cid = self.class_ids.get(id(node))
        if cid is None:
            cid = len(self.classes)
            local, glob, nonloc = _bound_names(node.body)
            self.classes[cid] = _Class(node, _Scope("class", scope, local, glob, nonloc))
            self.class_ids[id(node)] = cid
            self.class_ids[id(self.classes[cid].scope)] = cid
        info = self.classes[cid]
        cscope = info.scope
        for base in node.bases:
            for base_id in _ids(self.ev(base, scope), "cls:"):
                if base_id not in info.bases and base_id != cid:
                    info.bases.append(base_id)
        for keyword in node.keywords:
            self.ev(keyword.value, scope)
        for dec in node.decorator_list:
            self.ev(dec, scope)
        self.exec_body(node.body, cscope)
        self.bind(scope, node.name, _Val(kinds=frozenset({f"cls:{cid}"})))

    def method(self, cid: int, name: str, seen: frozenset[int] = frozenset()) -> int | None:
        info = self.classes[cid]
        if name in info.methods:
            return info.methods[name]
        for base in info.bases:
            if base not in seen:
                found = self.method(base, name, seen | {cid})
                if found is not None:
                    return found
        return None

    def call_function(self, fid: int, args: list[_Val], spread: list[_Val], keywords: dict[str, _Val],
                      recv: _Val | None, node: ast.Call) -> _Val:
        func = self.funcs[fid]
        positional = list(func.positional)
        if recv is not None and positional and func.kind in ("method", "class"):
            self.feed_param(func, positional[0], recv if func.kind == "method" else _CLEAN)
            positional = positional[1:]
        for i, value in enumerate(args):
            if i < len(positional):
                self.feed_param(func, positional[i], value)
            elif func.vararg:
                self.feed_param(func, func.vararg, _Val(keys=_flat(value), via=_via(value)))
        for name, value in keywords.items():
            if name in positional or name in func.keyword_only:
                self.feed_param(func, name, value)
            elif func.kwarg:
                self.feed_param(func, func.kwarg, _Val(keys=_flat(value), via=_via(value)))
        if spread:
            self.note(node, f"arguments spread with * or ** into {func.name}() are matched conservatively: "
                            f"every parameter is assumed to receive them")
            spread_value = _join_all(_Val(keys=_flat(v), kinds=_elem_kinds(self.element(v)), via=_via(v))
                                     for v in spread)
            for name in positional + func.keyword_only + [n for n in (func.vararg, func.kwarg) if n]:
                self.feed_param(func, name, spread_value)
        if func.raises is not None:
            self.add_raised(func.raises)
        result = func.returns or _CLEAN
        return _with_via(result, f"{func.name}()")

    # -- expressions ------------------------------------------------------------------------

    def ev(self, node: ast.expr, scope: _Scope) -> _Val:
        """What evaluating ``node`` gives; every sink inside it is checked on the way."""
        method = getattr(self, f"ev_{type(node).__name__}", None)
        if method is not None:
            value: _Val = method(node, scope)
            return value
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.ev(child, scope)
        return _CLEAN

    def ev_Constant(self, node: ast.Constant, scope: _Scope) -> _Val:
        if isinstance(node.value, str):
            return _Val(prefix=node.value, const=node.value)
        return _CLEAN

    def ev_Name(self, node: ast.Name, scope: _Scope) -> _Val:
        return self.lookup(scope, node.id)

    def ev_JoinedStr(self, node: ast.JoinedStr, scope: _Scope) -> _Val:
        vals: list[_Val] = []
        prefix = ""
        growing = True  # the text so far is known exactly, so the prefix can still grow
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                prefix += part.value if growing else ""
                continue
            value = self.ev(part, scope)
            vals.append(value)
            if growing:
                prefix += value.prefix or ""
                growing = value.const is not None
        out = _text(*vals)
        if growing:
            return replace(out, prefix=prefix, const=prefix)
        return replace(out, prefix=prefix or None)

    def ev_FormattedValue(self, node: ast.FormattedValue, scope: _Scope) -> _Val:
        vals = [self.ev(node.value, scope)]
        if node.format_spec is not None:
            vals.append(self.ev(node.format_spec, scope))
        value = _text(*vals)
        first = vals[0]
        if first.prefix is not None and node.format_spec is None and node.conversion in (-1, 115):
            value = replace(value, prefix=first.prefix, const=first.const)
        return value

    def ev_BinOp(self, node: ast.BinOp, scope: _Scope) -> _Val:
        left = self.ev(node.left, scope)
        right = self.ev(node.right, scope)
        value = _text(left, right)
        if isinstance(node.op, ast.Add) and left.prefix is not None:
            value = replace(value, prefix=left.prefix)
        elif isinstance(node.op, ast.Mod) and left.prefix is not None:
            value = replace(value, prefix=left.prefix.split("%")[0])
        return value

    def ev_BoolOp(self, node: ast.BoolOp, scope: _Scope) -> _Val:
        return _join_all(self.ev(v, scope) for v in node.values)

    def ev_UnaryOp(self, node: ast.UnaryOp, scope: _Scope) -> _Val:
        value = self.ev(node.operand, scope)
        return _CLEAN if isinstance(node.op, ast.Not) else _text(value)

    def ev_Compare(self, node: ast.Compare, scope: _Scope) -> _Val:
        self.ev(node.left, scope)
        for comparator in node.comparators:
            self.ev(comparator, scope)
        return _CLEAN  # a yes/no answer is not the value

    def ev_IfExp(self, node: ast.IfExp, scope: _Scope) -> _Val:
        self.ev(node.test, scope)
        return _join(self.ev(node.body, scope), self.ev(node.orelse, scope))

    def ev_NamedExpr(self, node: ast.NamedExpr, scope: _Scope) -> _Val:
        value = self.ev(node.value, scope)
        if isinstance(node.target, ast.Name):
            self.bind(scope, node.target.id, value, walrus=True)
        return value

    def ev_Starred(self, node: ast.Starred, scope: _Scope) -> _Val:
        return self.ev(node.value, scope)

    def ev_Await(self, node: ast.Await, scope: _Scope) -> _Val:
        return self.ev(node.value, scope)

    def ev_Yield(self, node: ast.Yield, scope: _Scope) -> _Val:
        if node.value is not None:
            self.returned(_Val(keys=_flat(self.ev(node.value, scope))))
        return _CLEAN

    def ev_YieldFrom(self, node: ast.YieldFrom, scope: _Scope) -> _Val:
        self.returned(_text(self.ev(node.value, scope)))
        return _CLEAN

    def ev_Lambda(self, node: ast.Lambda, scope: _Scope) -> _Val:
        func = self.function_for(node, scope, None)
        self.analyse_function(func, scope)
        return _Val(kinds=frozenset({f"fn:{self.func_ids[id(node)]}"}))

    def ev_Tuple(self, node: ast.Tuple | ast.List, scope: _Scope) -> _Val:
        vals = [self.ev(e, scope) for e in node.elts]
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return _join_all(_Val(keys=_flat(v), kinds=_elem_kinds(v), via=_via(v)) for v in vals)
        out = _Val(parts=tuple(vals))
        return _collapse(out) if _depth(out) > _MAX_DEPTH else out

    ev_List = ev_Tuple

    def ev_Set(self, node: ast.Set, scope: _Scope) -> _Val:
        return _join_all([_CLEAN] + [_collapse(self.ev(e, scope)) for e in node.elts])

    def ev_Dict(self, node: ast.Dict, scope: _Scope) -> _Val:
        constant = all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys)
        if constant:
            fields = {k.value: self.ev(v, scope) for k, v in zip(node.keys, node.values)}  # type: ignore[union-attr]
            out = _Val(fields=tuple(sorted(fields.items())))
            return _collapse(out) if _depth(out) > _MAX_DEPTH else out
        out = _CLEAN
        for key, value in zip(node.keys, node.values):
            v = self.ev(value, scope)
            if key is None:  # {**mapping}
                out = _join(out, _Val(keys=v.keys, kinds=v.kinds & _VAULT_KINDS, via=v.via)
                            if "vault" in v.kinds else _Val(keys=_flat(v), kinds=_elem_kinds(v), via=_via(v)))
            else:
                out = _join(out, _text(self.ev(key, scope), v))
                out = _join(out, _Val(kinds=_elem_kinds(v)))
        return out

    def comprehension(self, generators: list[ast.comprehension], scope: _Scope) -> _Scope:
        comp = _Scope("comp", scope, set(), set(), set())
        for gen in generators:
            self.assign(gen.target, self.iterated(gen.iter, comp), comp)
            for cond in gen.ifs:
                self.ev(cond, comp)
        return comp

    def ev_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp, scope: _Scope) -> _Val:
        comp = self.comprehension(node.generators, scope)
        item = self.ev(node.elt, comp)
        return _Val(keys=_flat(item), kinds=_elem_kinds(item), via=_via(item))

    ev_SetComp = ev_ListComp
    ev_GeneratorExp = ev_ListComp

    def ev_DictComp(self, node: ast.DictComp, scope: _Scope) -> _Val:
        comp = self.comprehension(node.generators, scope)
        return _text(self.ev(node.key, comp), self.ev(node.value, comp))

    def ev_Subscript(self, node: ast.Subscript, scope: _Scope) -> _Val:
        base = self.ev(node.value, scope)
        index = self.ev(node.slice, scope)
        return self.item(base, index, node.slice)

    def item(self, base: _Val, index: _Val, index_node: ast.expr | None) -> _Val:
        kinds = frozenset(k for k in base.kinds if k in ("stream", "file", "session", "logger")
                          or k.startswith(("fn:", "bm:", "inst:")))
        if "vault" in base.kinds:
            key: str | None = index.const
            extra = _Val(keys=base.keys, via=base.via) if base.keys else _CLEAN
            return _join(_Val(keys=frozenset({key})), extra)
        if base.parts is not None and isinstance(index_node, ast.Constant) and isinstance(index_node.value, int) \
                and -len(base.parts) <= index_node.value < len(base.parts):
            return _join(base.parts[index_node.value], _Val(keys=base.keys, via=base.via))
        if base.fields is not None and index.const is not None:
            fields = dict(base.fields)
            if index.const in fields:
                return _join(fields[index.const], _Val(keys=base.keys, via=base.via))
            return _Val(keys=base.keys, via=base.via)
        flat = _flat(base) | (_flat(index) if isinstance(index_node, ast.Slice) else frozenset())
        return _Val(keys=flat, kinds=kinds, via=_via(base))

    def ev_Attribute(self, node: ast.Attribute, scope: _Scope) -> _Val:
        return self.attribute(self.ev(node.value, scope), node.attr)

    def attribute(self, base: _Val, attr: str) -> _Val:
        kinds: set[str] = set()
        for name in _syms(base):
            if name.count(".") < _MAX_SYM_DOTS:  # deeper chains name nothing the analysis knows
                kinds.add(f"sym:{name}.{attr}")
        for cid in _ids(base, "inst:"):
            fid = self.method(cid, attr)
            if fid is not None:
                kinds.add(f"bm:{fid}")
        for cid in _ids(base, "cls:"):
            fid = self.method(cid, attr)
            if fid is not None:
                kinds.add(f"fn:{fid}" if self.funcs[fid].kind == "static" else f"bm:{fid}")
        value = _Val(keys=_flat(base), kinds=frozenset(kinds), via=_via(base))
        if not _syms(base) or base.kinds - {k for k in base.kinds if k.startswith("sym:")}:
            stored = self.attrs.get(attr)
            if stored is not None:
                value = _join(value, stored)
        return value

    # -- calls ------------------------------------------------------------------------------

    def ev_Call(self, node: ast.Call, scope: _Scope) -> _Val:
        func = node.func
        recv: _Val | None = None
        if isinstance(func, ast.Attribute):
            recv = self.ev(func.value, scope)
            callee = self.attribute(recv, func.attr)
            method: str | None = func.attr
        else:
            callee = self.ev(func, scope)
            method = None
        args: list[_Val] = []
        known = 0  # positional arguments before the first *spread: their position is known
        for arg in node.args:
            args.append(self.ev(arg, scope))
            if isinstance(arg, ast.Starred) or known < len(args) - 1:
                continue
            known = len(args)
        keywords: dict[str, _Val] = {}
        spread_kw: list[_Val] = []
        for kw in node.keywords:
            value = self.ev(kw.value, scope)
            if kw.arg is None:
                spread_kw.append(value)
            else:
                keywords[kw.arg] = value
        spread = args[known:] + spread_kw
        syms = _syms(callee)
        everything = args + list(keywords.values()) + spread_kw
        self.sinks(node, syms, method, recv, args, keywords, everything)
        return self.call_result(node, callee, syms, method, recv, args[:known], keywords, spread_kw, spread, everything,
                                scope)

    def sinks(self, node: ast.Call, syms: list[str], method: str | None, recv: _Val | None, args: list[_Val],
              keywords: dict[str, _Val], everything: list[_Val]) -> None:
        symset = set(syms)
        recv_kinds = recv.kinds if recv is not None else frozenset()
        callee_text = _dotted(node.func)
        if symset & {"log", "document.log"}:
            self.report("log", everything, node, "document.log()" if "document.log" in symset else "log()")
        if "print" in symset:
            target = keywords.get("file")
            out = [v for k, v in keywords.items() if k != "file"] + args
            if target is None or "sym:sys.stdout" in target.kinds:
                self.report("stdout", out, node, "print()")
            elif "sym:sys.stderr" in target.kinds:
                self.report("stderr", out, node, "print(file=sys.stderr)")
            elif "file" in target.kinds:
                self.report("file", out, node, "print(file=...)")
            else:
                self.report("stdout", out, node, "print(file=...)")
        for stream in ("stdout", "stderr"):
            if symset & {f"sys.{stream}.write", f"sys.{stream}.writelines"}:
                self.report(stream, everything, node, f"sys.{stream}.{method}()")
        for name in sorted(symset & {"warnings.warn", "sys.exit"}):
            self.report("stderr", everything, node, f"{name}()")
        if "traceback.print_exc" in symset and self.handlers:
            self.report("stderr", [self.handlers[-1]], node, "traceback.print_exc()")
        logging_call = any(s.startswith("logging.") and s.split(".")[-1] in _LOG_METHODS for s in syms)
        if method in _LOG_METHODS and recv is not None and (
                "logger" in recv_kinds or _LOGGER_NAME.search(_dotted(node.func.value))):  # type: ignore[attr-defined]
            logging_call = True
        if logging_call:
            logged = list(everything)
            exc_info = keywords.get("exc_info")
            if self.handlers and (method == "exception" or callee_text.endswith(".exception")
                                  or (exc_info is not None and not _is_false(node, "exc_info"))):
                logged.append(self.handlers[-1])
            self.report("logging", logged, node, f"{callee_text}()")
        for name in sorted(symset & _LOGGING_NAMES):
            self.report("logging", everything, node, f"{name}() (a logger or level name)")
        if symset & {"document.DataStream", "DataStream"}:
            self.report("data_stream", everything, node, "DataStream() name")
        for name in sorted(symset & _SOCKET_CALLS):
            self.report("socket", everything, node, f"{name}()")
        if method in ("sendto", "sendmsg"):
            self.report("socket", everything, node, f"socket.{method}()")
        if "document.add_meta_data" in symset:
            self.report("metadata", everything, node, "add_meta_data()")
        if method in ("write", "writelines") and "stream" in recv_kinds:
            self.report("data_stream", everything, node, f"DataStream.{method}()")
        if "document.add_data_stream" in symset:
            self.report("data_stream", everything, node, "add_data_stream()")
        for name, sink in _PERMISSION_CALLS.items():
            if name in symset:
                self.report("permissions", everything, node, sink)
        if method in _PERMISSION_METHODS:
            self.report("permissions", everything, node, f"{method}()")
        for name in sorted(symset & {"document.reject", "document.skip"}):
            self.report("reason", everything, node, f"{name.split('.')[-1]}()")
        if method in ("write", "writelines") and "file" in recv_kinds:
            self.report("file", everything, node, f"file.{method}()")
        if method in ("write_text", "write_bytes") and "path" in recv_kinds:
            self.report("file", everything, node, f"Path.{method}()")
        if "json.dump" in symset and len(args) > 1 and "file" in args[1].kinds:
            self.report("file", [args[0]], node, "json.dump()")
        self.http_sinks(node, syms, method, recv, args, keywords)

    def http_sinks(self, node: ast.Call, syms: list[str], method: str | None, recv: _Val | None,
                   args: list[_Val], keywords: dict[str, _Val]) -> None:
        verb = None
        for name in syms:
            if name.startswith("requests.") and name.split(".", 1)[1] in _HTTP_VERBS:
                verb, label = name.split(".", 1)[1], name
        if verb is None and recv is not None and "session" in recv.kinds and method in _HTTP_VERBS:
            verb, label = method, f"{_dotted(node.func.value)}.{method}"  # type: ignore[attr-defined]
        if verb is not None:
            url_index = 1 if verb == "request" else 0
            url = args[url_index] if len(args) > url_index else keywords.get("url", _CLEAN)
            self.report("url", [url], node, f"{label} url")
            self.add_raised(url)
            if "params" in keywords:
                self.report("url", [keywords["params"]], node, f"{label} params")
                self.add_raised(keywords["params"])
            if _plain_http(url):
                body = args[url_index + 1:] + [keywords[k] for k in _BODY_ARGUMENTS if k in keywords]
                if recv is not None and "session" in recv.kinds:
                    body.append(recv)
                self.report("plain_http", body, node, f"{label} over http://")
            return
        for name in syms:
            if name in ("urllib.request.urlopen", "urllib.request.Request"):
                short = name.rsplit(".", 1)[1]
                url = args[0] if args else keywords.get("url", _CLEAN)
                self.report("url", [url], node, f"{short} url")
                self.add_raised(url)
                if _plain_http(url):
                    body = args[1:] + [keywords[k] for k in ("data", "headers") if k in keywords]
                    self.report("plain_http", body, node, f"{short} over http://")

    def call_result(self, node: ast.Call, callee: _Val, syms: list[str], method: str | None, recv: _Val | None,
                    args: list[_Val], keywords: dict[str, _Val], spread_kw: list[_Val], spread: list[_Val],
                    everything: list[_Val], scope: _Scope) -> _Val:
        tainted = any(_flat(v) for v in everything)
        results: list[_Val] = []
        for fid in _ids(callee, "fn:"):
            results.append(self.call_function(fid, args, spread, keywords, None, node))
        for fid in _ids(callee, "bm:"):
            bound = recv if recv is not None else _Val(kinds=frozenset({f"inst:{self.funcs[fid].cls}"}))
            results.append(self.call_function(fid, args, spread, keywords, bound, node))
        for cid in _ids(callee, "cls:"):
            instance = _Val(kinds=frozenset({f"inst:{cid}"}))
            init = self.method(cid, "__init__")
            if init is not None:
                self.call_function(init, args, spread, keywords, instance, node)
                results.append(instance)
            else:  # exceptions, dataclasses, named tuples: the object holds its arguments
                results.append(_join(instance, _text(*everything)))
        if results:
            return _join_all(results)
        symset = set(syms)
        recv_kinds = recv.kinds if recv is not None else frozenset()
        # The vault mapping and its methods.
        if recv is not None and "vault" in recv.kinds and method is not None:
            if method in ("get", "pop", "setdefault", "__getitem__"):
                key = args[0].const if args else None
                default = [args[1]] if len(args) > 1 else list(keywords.values())
                return _join(_Val(keys=frozenset({key}) | recv.keys, via=recv.via), _text(*default)) \
                    if default else _Val(keys=frozenset({key}) | recv.keys, via=recv.via)
            if method == "copy":
                return recv
            if method == "values":
                return _Val(keys=frozenset({None}) | recv.keys, via=recv.via)
            if method == "items":
                return _Val(keys=recv.keys, kinds=frozenset({"vault_items"}), via=recv.via)
            if method == "keys":
                return _CLEAN
            return _text(recv, *everything)
        if symset & {"dict", "copy.copy", "copy.deepcopy", "collections.OrderedDict"}:
            if args and "vault" in args[0].kinds:
                return args[0]
            if not args and keywords and not spread_kw:
                return _Val(fields=tuple(sorted(keywords.items())))
        # What cannot be followed.
        dynamic = symset & _DYNAMIC_CODE
        if dynamic:
            self.note(node, f"{min(dynamic)}() runs code the analysis cannot see")
            return _text(*everything)
        introspection = symset & _INTROSPECTION
        if introspection:
            self.note(node, f"{min(introspection)}() exposes variables (vault_parameters among them) "
                            f"by computed names; what is read from it is reported with key None")
            return _Val(keys=frozenset({None}))
        if symset & {"getattr", "setattr", "delattr"}:
            name = args[1].const if len(args) > 1 else None
            which = min(symset & {"getattr", "setattr", "delattr"})
            if name is None:
                self.note(node, f"{which}() with a name computed at run time: the attribute is not known")
                return _text(*everything)
            if which == "getattr" and args:
                return _join(self.attribute(args[0], name), _text(*args[2:]))
            if which == "setattr" and len(args) > 2:
                self.store_attr(name, args[2], node)
            return _CLEAN
        if symset & _CLEAN_BUILTINS:
            return _CLEAN
        if any(s.split(".")[0] in _HASH_MODULES for s in syms) or symset & _HASH_CALLS or "hash" in recv_kinds:
            return _Val(kinds=frozenset({"hash"}))  # a digest is not the value
        if "traceback.format_exc" in symset:
            return self.handlers[-1] if self.handlers else _CLEAN
        # Objects whose methods matter to sinks.
        if symset & {"open", "io.open", "codecs.open"} or (method == "open" and "path" in recv_kinds):
            return _Val(kinds=frozenset({"file"}))
        if symset & {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"}:
            return _Val(keys=_flat(_text(*everything)), kinds=frozenset({"path"}))
        if symset & {"document.DataStream", "document.get_data_stream"}:
            return _Val(kinds=frozenset({"stream"}))
        if symset & {"requests.Session", "requests.session"}:
            return _Val(kinds=frozenset({"session"}))
        if symset & {"logging.getLogger", "logging.getLoggerClass"} or "logger" in recv_kinds:
            return _Val(kinds=frozenset({"logger"})) if method in (None, "getChild") else _CLEAN
        if any(s.startswith("document.") for s in syms):
            return _CLEAN  # the document's own data, never the vault's
        if any(s.startswith("requests.") and s.split(".", 1)[1] in _HTTP_VERBS for s in syms):
            return _CLEAN  # a response: what the server sent, not what we sent
        if recv_kinds & {"session", "stream", "file"} and (
                method in ("write", "writelines", *_HTTP_VERBS) or "session" in recv_kinds):
            return _CLEAN  # nothing a write returns, or a response
        if any(s.startswith("urllib.request.") for s in syms):
            return _CLEAN
        # Modules and objects the analysis does not follow.
        for name in syms:
            root = name.split(".")[0]
            if root in self.imported_roots and root not in _KNOWN_MODULES:
                if tainted:
                    self.note(node, f"a vault value is passed to {name}() from module '{root}', which the "
                                    f"analysis does not follow; its result is assumed not to carry the value")
                return _Val(kinds=frozenset({f"ext:{root}"}))
        external = sorted(k[4:] for k in recv_kinds if k.startswith("ext:"))
        if external:
            if tainted:
                self.note(node, f"a vault value is passed to {_dotted(node.func)}() of an object from module "
                                f"'{external[0]}', which the analysis does not follow")
            return _Val(kinds=frozenset({f"ext:{external[0]}"}))
        if isinstance(node.func, ast.Name) and not syms and tainted:
            self.note(node, f"a vault value is passed to {node.func.id}(), a callable the analysis cannot "
                            f"resolve; what it does with the value is not followed")
        # Containers that keep what is put into them.
        if method in _MUTATORS and recv is not None and isinstance(node.func, ast.Attribute) and not _syms(recv):
            item = _text(*everything)
            kinds = frozenset().union(*(_elem_kinds(v) for v in everything)) if everything else frozenset()
            if _flat(item) or kinds:
                key = args[0].const if method == "setdefault" and args else None
                self.store_into(node.func.value, _Val(keys=item.keys, kinds=kinds, via=item.via), key, scope)
        # Everything else (builtins, str/bytes methods, json, base64, urllib.parse, ...): the
        # result is built from the receiver and the arguments.
        value = _text(*([recv] if recv is not None else []), *everything)
        if method == "format" and recv is not None and recv.prefix is not None:
            value = replace(value, prefix=recv.prefix.split("{")[0])
        elif method == "rstrip" and recv is not None and recv.prefix is not None:
            chars = args[0].const if args else None
            value = replace(value, prefix=recv.prefix.rstrip(chars) if chars or not args else None)
        elif symset & {"str"} and args and args[0].prefix is not None:
            value = replace(value, prefix=args[0].prefix, const=args[0].const)
        elif symset & {"urllib.parse.urljoin"} and args and args[0].prefix is not None:
            value = replace(value, prefix=args[0].prefix)
        return value


def _plain_http(url: _Val) -> bool:
    return url.prefix is not None and url.prefix.lower().startswith("http://")


def _is_false(node: ast.Call, keyword: str) -> bool:
    for kw in node.keywords:
        if kw.arg == keyword:
            return isinstance(kw.value, ast.Constant) and not kw.value.value
    return True

