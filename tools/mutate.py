"""Mutation testing: does a module's own test suite fail when the module is made wrong?

Each mutant is one small change to the module's syntax tree (a flipped comparison, ``+``
for ``-``, a deleted statement, a loosened regular expression, ``extra="forbid"`` made
``"ignore"``, a changed constant, ``return None``). It is loaded through an import hook in
a forked child, never written over the source, and the module's tests run against it with a
timeout; a mutant the tests pass is a survivor. Only one mutant runs at a time.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.util
import json
import os
import re
import select
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType

# The modules scored in docs/testing.md, each with its own fast tests.
MODULES: dict[str, tuple[str, ...]] = {
    # test_one_threshold starts Prometheus and promtool (about 30 s a mutant): not here.
    "inventory/criteria.py": ("tests/test_criteria.py", "tests/test_check_states.py"),
    "ward_agent/spool.py": ("tests/test_spool.py",),
    "collector/payload.py": ("tests/test_payload.py",),
}

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
    ast.LShift: ast.RShift, ast.RShift: ast.LShift,
    ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr,
}
_REGEX_FUNCTIONS = {"compile", "match", "fullmatch", "search", "sub", "subn", "findall",
                    "finditer", "split"}
# A string without white space is a name (a metric, a label, a key, an operator), so
# changing it changes behaviour; prose (messages, SQL, help text) is not mutated.
_NAME_LIKE = re.compile(r"\S{1,80}")


@dataclass(frozen=True)
class Mutant:
    index: int
    line: int
    original: str
    mutated: str

    def describe(self, path: str) -> str:
        return f"{path}:{self.line}: {self.original}  →  {self.mutated}"


class _Mutator:
    """Walks a tree in a fixed order; each mutation site gets the next index.

    With ``target`` None it only lists the mutants; with an index it applies that one.
    """

    def __init__(self, source: str, target: int | None = None):
        self.lines = source.encode("utf-8").splitlines()
        self.target = target
        self.count = 0
        self.mutants: list[Mutant] = []
        self.applied: Mutant | None = None

    def run(self, tree: ast.Module) -> ast.Module:
        self._statements(tree.body, in_function=False)
        return tree

    # -- bookkeeping

    def _offer(self, node: ast.AST, replacement: ast.AST | str) -> bool:
        """Record one possible mutation of ``node``; True when it is the one to apply."""
        index, self.count = self.count, self.count + 1
        if self.target is not None and index != self.target:
            return False
        mutated = replacement if isinstance(replacement, str) else ast.unparse(replacement)
        mutant = Mutant(index, getattr(node, "lineno", 0), self._first_line(node),
                        _one_line(mutated))
        self.mutants.append(mutant)
        if index == self.target:
            self.applied = mutant
            return True
        return False

    def _first_line(self, node: ast.AST) -> str:
        """The node's source text, its first line only (offsets count UTF-8 bytes)."""
        line = self.lines[node.lineno - 1]  # type: ignore[attr-defined]
        start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        if node.end_lineno == node.lineno:  # type: ignore[attr-defined]
            return line[start:end].decode("utf-8")
        return line[start:].decode("utf-8").rstrip() + " …"

    # -- statements

    def _statements(self, body: list[ast.stmt], in_function: bool) -> None:
        for i, statement in enumerate(body):
            if in_function and _deletable(statement) and self._offer(statement, "(deleted)"):
                body[i] = ast.copy_location(ast.Pass(), statement)
                continue
            if _is_docstring(statement) or isinstance(statement, ast.ImportFrom | ast.Import):
                continue
            self._children(statement, in_function)

    def _children(self, node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            in_function = True
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "type_comment", "decorator_list"):
                continue
            if isinstance(value, list):
                if value and all(isinstance(v, ast.stmt) for v in value):
                    self._statements(value, in_function)
                    continue
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        value[i] = self._expression(item, in_function)
            elif isinstance(value, ast.AST):
                setattr(node, name, self._expression(value, in_function))
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                if self._offer(node, "return None"):
                    node.value = ast.Constant(None)
        if isinstance(node, ast.AugAssign) and type(node.op) in _BINOP_SWAPS:
            swapped = copy.copy(node)
            swapped.op = _BINOP_SWAPS[type(node.op)]()
            if self._offer(node, swapped):
                node.op = swapped.op
        if isinstance(node, ast.If | ast.While) and not _negation_covered(node.test):
            negated = ast.UnaryOp(ast.Not(), node.test)
            if self._offer(node.test, negated):
                node.test = negated

    # -- expressions

    def _expression(self, node: ast.AST, in_function: bool) -> ast.AST:
        if isinstance(node, ast.Subscript) and _is_name(node.value, "Literal"):
            return node  # a type, not a value
        if isinstance(node, ast.JoinedStr):
            return node  # formats are judged through what they print
        if isinstance(node, ast.Call):
            return self._call(node, in_function)
        self._children(node, in_function)
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARE_SWAPS:
                    ops = list(node.ops)
                    ops[i] = _COMPARE_SWAPS[type(op)]()
                    swapped = ast.Compare(node.left, ops, node.comparators)
                    if self._offer(node, swapped):
                        return ast.copy_location(swapped, node)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
            swapped_bin = ast.BinOp(node.left, _BINOP_SWAPS[type(node.op)](), node.right)
            if self._offer(node, swapped_bin):
                return ast.copy_location(swapped_bin, node)
        elif isinstance(node, ast.BoolOp):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            swapped_bool = ast.BoolOp(other, node.values)
            if self._offer(node, swapped_bool):
                return ast.copy_location(swapped_bool, node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            if self._offer(node, node.operand):
                return node.operand
        elif isinstance(node, ast.IfExp) and not _negation_covered(node.test):
            negated = ast.UnaryOp(ast.Not(), node.test)
            if self._offer(node.test, negated):
                node.test = negated
        elif isinstance(node, ast.Constant):
            for replacement in _constant_mutations(node.value):
                new = ast.copy_location(ast.Constant(replacement), node)
                if self._offer(node, new):
                    return new
        return node

    def _call(self, node: ast.Call, in_function: bool) -> ast.AST:
        patterns: list[ast.Constant] = []
        func = node.func
        if (isinstance(func, ast.Attribute) and _is_name(func.value, "re")
                and func.attr in _REGEX_FUNCTIONS and node.args
                and isinstance(node.args[0], ast.Constant)):
            patterns.append(node.args[0])
        patterns += [k.value for k in node.keywords
                     if k.arg == "pattern" and isinstance(k.value, ast.Constant)]
        for pattern in patterns:
            if isinstance(pattern.value, str):
                for loosened in _loosened(pattern.value):
                    if self._offer(pattern, repr(loosened)):
                        pattern.value = loosened
                        return node
        # The patterns' other mutations are their loosenings only.
        node.func = self._expression(node.func, in_function)  # type: ignore[assignment]
        node.args = [a if a in patterns else self._expression(a, in_function)  # type: ignore[misc]
                     for a in node.args]
        for keyword in node.keywords:
            if keyword.value not in patterns:
                keyword.value = self._expression(keyword.value, in_function)  # type: ignore[assignment]
        return node


def _constant_mutations(value: object) -> list[str | bool | int | float]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1]
    if isinstance(value, float):
        return [value + 1.0]
    if isinstance(value, str):
        if value == "forbid":
            return ["ignore"]
        if _NAME_LIKE.fullmatch(value):
            return [value + "_mutated"]
    return []


def _loosened(pattern: str) -> Iterator[str]:
    """A pattern that accepts more: without an anchor, a bound or a character class."""
    for anchor in ("^", r"\A"):
        if pattern.startswith(anchor):
            yield pattern[len(anchor):]
    for anchor in ("$", r"\Z", r"\z"):
        if pattern.endswith(anchor) and not pattern.endswith("\\" + anchor):
            yield pattern[:-len(anchor)]
    for match in re.finditer(r"\{\d*(,\d*)?\}", pattern):
        yield pattern[:match.start()] + "*" + pattern[match.end():]
    for match in re.finditer(r"(?<!\\)\[(?:\\.|[^\]\\])+\]", pattern):
        yield pattern[:match.start()] + "." + pattern[match.end():]


def _negation_covered(test: ast.expr) -> bool:
    """Whether ``not test`` is already a mutant of ``test`` itself (``not`` removed, ``==``
    made ``!=``)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return True
    return isinstance(test, ast.Compare) and all(
        isinstance(op, ast.Eq | ast.NotEq | ast.Is | ast.IsNot | ast.In | ast.NotIn)
        for op in test.ops)


def _deletable(statement: ast.stmt) -> bool:
    return not (
        _is_docstring(statement)
        or isinstance(statement, ast.Pass | ast.Import | ast.ImportFrom | ast.Return
                      | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                      | ast.Global | ast.Nonlocal)
    )


def _is_docstring(statement: ast.stmt) -> bool:
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str))


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    return first + (" …" if "\n" in text.strip() else "")


def list_mutants(source: str) -> list[Mutant]:
    mutator = _Mutator(source)
    mutator.run(ast.parse(source))
    return mutator.mutants


def mutant_code(source: str, path: Path, index: int) -> CodeType:
    mutator = _Mutator(source, index)
    tree = ast.fix_missing_locations(mutator.run(ast.parse(source)))
    if mutator.applied is None:
        raise IndexError(f"no mutant {index}")
    return compile(tree, str(path), "exec")


# --- running


class _MutantLoader(importlib.abc.Loader):
    def __init__(self, code: CodeType):
        self.code = code

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(self.code, module.__dict__)


class _MutantFinder(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, path: Path, code: CodeType):
        self.name, self.path, self.code = name, path, code

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        locations = [str(self.path.parent)] if self.path.name == "__init__.py" else None
        return importlib.util.spec_from_file_location(
            fullname, self.path, loader=_MutantLoader(self.code),
            submodule_search_locations=locations)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.resolve().relative_to(root.resolve()).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_names(root: Path) -> set[str]:
    names = {"conftest", "__main__"}
    for entry in root.iterdir():
        if entry.suffix == ".py" or (entry.is_dir() and any(entry.glob("*.py"))):
            names.add(entry.stem if entry.is_file() else entry.name)
    return names


def _run_tests(root: Path, tests: Sequence[str], finder: _MutantFinder | None,
               report_modules: Path | None) -> int:
    """In the child: the tests against the mutant; pytest's exit code."""
    import pytest

    os.chdir(root)
    sys.path.insert(0, str(root))
    if finder is not None:
        sys.meta_path.insert(0, finder)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # The parent imported pytest's plugins already (see _warm_up): too late for pytest to
    # rewrite their asserts, which only matters to the plugins' own assertions.
    code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider",
                            "-W", "ignore::pytest.PytestAssertRewriteWarning", *tests],
                           plugins=[_HypothesisWithoutMemory()]))
    if report_modules is not None:
        project = _project_names(root)
        loaded = [name for name, module in list(sys.modules.items())
                  if name.partition(".")[0] not in project
                  and not str(getattr(module, "__file__", None) or "").startswith(str(root))]
        report_modules.write_text(json.dumps(loaded))
    return code


class _HypothesisWithoutMemory:
    """No example database and no randomness: a mutant's failing examples are not replayed
    on the next mutant, and a score does not change from one run to the next."""

    def pytest_configure(self) -> None:
        try:
            import hypothesis
        except ImportError:
            return
        hypothesis.settings.register_profile("mutation", database=None, derandomize=True)
        hypothesis.settings.load_profile("mutation")


def run_one(root: Path, tests: Sequence[str], finder: _MutantFinder | None,
            timeout: float, report_modules: Path | None = None) -> str:
    """``killed``, ``survived`` or ``timeout``: one test run in a forked child."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.setpgid(0, 0)
        code = 3
        try:
            code = _run_tests(root, tests, finder, report_modules)
        finally:
            os._exit(code)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], timeout)
    os.close(read_end)
    if not ready:  # the child never closed its end: still running
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "timeout"
    _, status = os.waitpid(pid, 0)
    return "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"


def _warm_up(modules: list[str]) -> None:
    """Import in the parent what every child imports anyway, so each fork starts warm."""
    for name in modules:
        if name in sys.modules or name.startswith("__"):
            continue
        try:
            importlib.import_module(name)
        except Exception:  # a module that will not load early loads in the child
            continue


@dataclass
class Score:
    path: str
    mutants: int
    killed: int
    timeouts: int
    survivors: list[Mutant]

    @property
    def percent(self) -> float:
        return 100.0 * (self.killed + self.timeouts) / self.mutants if self.mutants else 100.0


def score_module(root: Path, path: str, tests: Sequence[str], only: Sequence[int] = (),
                 timeout: float | None = None, progress: bool = True) -> Score:
    source_path = root / path
    source = source_path.read_text(encoding="utf-8")
    name = module_name(root, source_path)
    mutants = list_mutants(source)
    with tempfile.TemporaryDirectory() as scratch:
        modules_file = Path(scratch) / "modules.json"
        started = time.monotonic()
        # The first run starts cold (it imports everything), so it is not held to --timeout.
        baseline = run_one(root, tests, None, 600, modules_file)
        took = time.monotonic() - started
        if baseline != "survived":
            raise SystemExit(f"mutate: the tests of {path} fail on the unchanged module "
                             f"({baseline})")
        _warm_up(json.loads(modules_file.read_text()))
    limit = timeout or max(10.0, 5 * took)
    killed = timeouts = 0
    survivors: list[Mutant] = []
    chosen = [m for m in mutants if not only or m.index in only]
    for done, mutant in enumerate(chosen, 1):
        code = mutant_code(source, source_path, mutant.index)
        outcome = run_one(root, tests, _MutantFinder(name, source_path, code), limit)
        if outcome == "killed":
            killed += 1
        elif outcome == "timeout":
            timeouts += 1
        else:
            survivors.append(mutant)
        if progress:
            print(f"\r{path}: {done}/{len(chosen)}, {len(survivors)} survived",
                  end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return Score(path, len(chosen), killed, timeouts, survivors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.mutate",
        description="Mutation scores of modules against their own tests. Without a module, "
                    "scores every module of tools/mutate.py's MODULES table.")
    parser.add_argument("module", nargs="?", help="a module's path, e.g. collector/payload.py")
    parser.add_argument("--tests", nargs="+", default=None,
                        help="its test files (default: its line in MODULES)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--only", type=int, nargs="+", default=(),
                        help="run only these mutant indexes")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per mutant (default: 5× the unchanged run, at least 10)")
    parser.add_argument("--fail-under", type=float, default=0.0,
                        help="exit 1 when a score is below this percentage")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.module is None:
        jobs = list(MODULES.items())
    else:
        tests = args.tests or MODULES.get(args.module)
        if not tests:
            parser.error(f"{args.module} has no tests in MODULES: name them with --tests")
        jobs = [(args.module, tuple(tests))]
    if args.list:
        for path, _ in jobs:
            for mutant in list_mutants((root / path).read_text(encoding="utf-8")):
                print(f"{mutant.index:4d} {mutant.describe(path)}")
        return 0
    scores = [score_module(root, path, tests, args.only, args.timeout) for path, tests in jobs]
    failed = False
    for score in scores:
        print(f"{score.path}: {score.mutants} mutants, {score.killed} killed, "
              f"{score.timeouts} timed out, {len(score.survivors)} survived: "
              f"{score.percent:.1f} %")
        for mutant in score.survivors:
            print(f"  survived #{mutant.index} {mutant.describe(score.path)}")
        failed = failed or score.percent < args.fail_under
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
