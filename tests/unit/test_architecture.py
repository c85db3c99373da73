"""The import contracts of tests/architecture.py break when the house rules are broken."""

from __future__ import annotations

from grimp import ImportGraph

from tests.architecture import AcyclicModulesContract, AllowedImportsContract


def graph_of(*imports: tuple[str, str], external: tuple[str, ...] = ()) -> ImportGraph:
    graph = ImportGraph()
    for name in external:
        graph.add_module(name, is_squashed=True)
    for importer, imported in imports:
        for module in (importer, imported):
            if module not in graph.modules:
                graph.add_module(module)
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents="import it")
    return graph


def worker_contract() -> AllowedImportsContract:
    options = {"source_modules": ["workers.*"], "allowed_modules": ["bus", "bus.**", "gennaker.resources"]}
    return AllowedImportsContract("workers", session_options={}, contract_options=options)


def test_a_worker_reaching_the_gateway_through_the_resource_seam_breaks_the_contract() -> None:
    graph = graph_of(
        ("workers", "workers.orca"),
        ("workers.orca", "workers.orca.handlers"),
        ("workers.orca.handlers", "gennaker.resources"),
        ("workers.orca.handlers", "bus.context"),
        ("gennaker.resources", "gateway.auth"),
        ("workers.orca.handlers", "pymongo"),
        external=("pymongo",),
    )
    check = worker_contract().check(graph, verbose=False)
    assert not check.kept
    assert [(c.source, c.importer, c.imported) for c in check.metadata["crossings"]] == [
        ("workers.orca", "gennaker.resources", "gateway.auth")
    ]


def test_a_worker_importing_its_own_package_the_bus_and_libraries_keeps_the_contract() -> None:
    graph = graph_of(
        ("workers", "workers.orca"),
        ("workers.orca", "workers.orca.handlers"),
        ("workers.orca.handlers", "workers.orca"),
        ("workers.orca.handlers", "bus"),
        ("bus", "bus.base"),
        ("workers.orca.handlers", "pymongo"),
        external=("pymongo",),
    )
    assert worker_contract().check(graph, verbose=False).kept


def test_an_unlisted_module_of_an_allowed_package_is_outside_the_list() -> None:
    graph = graph_of(("workers", "workers.echo"), ("workers.echo", "gennaker"), ("gennaker", "gennaker.cli"))
    check = worker_contract().check(graph, verbose=False)
    assert [c.imported for c in check.metadata["crossings"]] == ["gennaker"]


def test_a_loop_through_three_modules_is_found_and_shown_as_a_path() -> None:
    graph = graph_of(("bus.base", "bus.endpoint"), ("bus.endpoint", "bus.context"), ("bus.context", "bus.base"))
    check = AcyclicModulesContract("loops", session_options={}, contract_options={}).check(graph, verbose=False)
    assert not check.kept
    assert check.metadata["loops"] == [["bus.base", "bus.endpoint", "bus.context", "bus.base"]]


def test_a_graph_without_loops_or_with_its_loop_ignored_keeps_the_contract() -> None:
    chain = graph_of(("a.x", "a.y"), ("a.y", "a.z"), ("a.x", "a.z"))
    assert AcyclicModulesContract("loops", {}, {}).check(chain, verbose=False).kept
    looped = graph_of(("a.x", "a.y"), ("a.y", "a.x"))
    contract = AcyclicModulesContract("loops", {}, {"ignore_imports": ["a.y -> a.x"]})
    assert contract.check(looped, verbose=False).kept
