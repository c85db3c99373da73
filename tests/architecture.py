"""Two import-linter contract types the built-in ones lack, for the house rules in DESIGN.md.

``allowed_imports`` says what a package may import (a closed list), where import-linter's
``forbidden`` can only say what it may not: a module added to the tree later is outside every
worker's list until somebody decides otherwise. ``acyclic_modules`` says no module imports
itself through others, counting imports made only for type checking (a loop there is still an
arrow pointing back up). Both are registered under ``[tool.importlinter]`` in pyproject.toml and
run by ``lint-imports`` in ``./dev test``; ``tests/unit/test_architecture.py`` proves they fail.
"""

from __future__ import annotations

from dataclasses import dataclass

from grimp import ImportGraph
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules


@dataclass(frozen=True, order=True)
class CrossingImport:
    """One import that leaves what a source package may use: ``importer`` imports ``imported``."""

    source: str
    importer: str
    imported: str
    line_numbers: tuple[int, ...]


def _internal(graph: ImportGraph, module: str) -> bool:
    return not graph.is_module_squashed(module)  # external packages are squashed into one node


def _line_numbers(graph: ImportGraph, importer: str, imported: str) -> tuple[int, ...]:
    return tuple(
        sorted(detail["line_number"] for detail in graph.get_import_details(importer=importer, imported=imported))
    )


class AllowedImportsContract(Contract):
    """Each source package imports, directly or through others, only itself and ``allowed_modules``.

    ``allowed_modules`` are module expressions matched exactly (``bus`` is the package's
    ``__init__`` alone; ``bus.**`` its descendants). External packages are not constrained.
    """

    type_name = "allowed_imports"

    source_modules = fields.SetField(subfield=fields.ModuleExpressionField())
    allowed_modules = fields.SetField(subfield=fields.ModuleExpressionField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources = sorted(m.name for m in module_expressions_to_modules(graph, self.source_modules))  # type: ignore[arg-type]
        allowed = {m.name for m in module_expressions_to_modules(graph, self.allowed_modules)}  # type: ignore[arg-type]
        crossings: list[CrossingImport] = []
        for source in sources:
            own = {source} | graph.find_descendants(source)
            reachable = own | {m for m in graph.find_upstream_modules(source, as_package=True) if m in allowed}
            for importer in sorted(reachable):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if _internal(graph, imported) and imported not in own and imported not in allowed:
                        line_numbers = _line_numbers(graph, importer, imported)
                        crossings.append(CrossingImport(source, importer, imported, line_numbers))
        return ContractCheck(kept=not crossings, metadata={"crossings": crossings})

    def render_broken_contract(self, check: ContractCheck) -> None:
        crossing: CrossingImport
        for crossing in check.metadata["crossings"]:
            lines = ", ".join(f"l.{n}" for n in crossing.line_numbers)
            output.print_error(
                f"{crossing.source} may not reach {crossing.imported}: {crossing.importer} imports it ({lines})",
                bold=False,
            )
        output.new_line()


class AcyclicModulesContract(Contract):
    """No module of the root packages reaches itself through its own imports.

    ``ignore_imports`` names imports a contract elsewhere is still to remove; one that no longer
    exists is an error, so the list only shrinks.
    """

    type_name = "acyclic_modules"

    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=AlertLevel.ERROR,
        )
        loops = [self._loop_through(graph, sorted(members)) for members in import_loops(graph)]
        return ContractCheck(
            kept=not loops,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"loops": loops},
        )

    @staticmethod
    def _loop_through(graph: ImportGraph, members: list[str]) -> list[str]:
        start = members[0]
        step = min(m for m in graph.find_modules_directly_imported_by(start) if m in members)
        back = graph.find_shortest_chain(importer=step, imported=start)
        assert back is not None  # the two are in one strongly connected component
        return [start, *back]

    def render_broken_contract(self, check: ContractCheck) -> None:
        for loop in check.metadata["loops"]:
            output.print_error(" -> ".join(loop), bold=False)
        output.new_line()


def import_loops(graph: ImportGraph) -> list[set[str]]:
    """The strongly connected components of more than one internal module (Tarjan, iteratively)."""
    modules = sorted(m for m in graph.modules if _internal(graph, m))
    imports = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if _internal(graph, i)) for m in modules}
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in modules:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = lowlink[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            neighbours = imports[module]
            if position < len(neighbours):
                work.append((module, position + 1))
                neighbour = neighbours[position]
                if neighbour not in index:
                    work.append((neighbour, 0))
                elif neighbour in on_stack:
                    lowlink[module] = min(lowlink[module], index[neighbour])
                continue
            if lowlink[module] == index[module]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    components.append(component)
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[module])
    return components
