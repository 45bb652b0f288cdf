"""docs/ stays true: docs/api.md lists exactly the public names, the guides' Python blocks run
as written, and every link of the README and docs/ points at a file that exists.

The public names, found from the source so that a new name cannot slip past:
- a package's ``__init__.py``: what it imports from its own modules (``from .x import a``,
  ``from . import sub``) or defines, unless the name starts with ``_``;
- another module: its ``__all__``, else what it defines itself (functions, classes, constants);
- the classes in CLASSES: their attributes (inherited ones too) not starting with ``_``.
Every public name that is a module of tinyseq is walked in turn, starting from ROOTS.
"""
import ast
import importlib
import inspect
import re
import types

import pytest

from markdown_blocks import REPOSITORY, failure, run, scripts

API = REPOSITORY / "docs" / "api.md"
ROOTS = ["tinyseq", "tinyseq.render", "tinyseq.explorer", "tinyseq.distributed",
         "tinyseq.pretrained"]
CLASSES = ["tinyseq.Tensor", "tinyseq.nn.Module", "tinyseq.optim.Optimizer",
           "tinyseq.optim.lr_scheduler.LRScheduler", "tinyseq.trace.Trace"]
GUIDES = ["porting.md", "saving.md", "how-it-works.md"]


def _bound_names(module):
    """The names a module binds itself, read from its source."""
    tree = ast.parse(inspect.getsource(module))
    is_package = module.__file__.endswith("__init__.py")
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:                     # a = ..., a, b = ...; not a.b = ...
                elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
                names.update(e.id for e in elements if isinstance(e, ast.Name))
        elif isinstance(node, ast.ImportFrom) and is_package and node.level == 1:
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")}


def public_names(module):
    if hasattr(module, "__all__"):
        return set(module.__all__)
    return _bound_names(module)


def surfaces():
    """{surface: (object, public names)} for every module reached from ROOTS and CLASSES."""
    found, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        module = importlib.import_module(name)
        names = public_names(module)
        found[name] = (module, names)
        for attribute in names:
            value = getattr(module, attribute, None)
            if isinstance(value, types.ModuleType) and value.__name__.startswith("tinyseq."):
                todo.append(value.__name__)
    for path in CLASSES:
        module_name, class_name = path.rsplit(".", 1)
        cls = getattr(importlib.import_module(module_name), class_name)
        found[path] = (cls, {n for n in dir(cls) if not n.startswith("_")})
    return found


def documented(api):
    """{surface: {name: line number}} from docs/api.md: a ``## `surface` ...`` heading opens a
    surface; in its tables the first cell's code spans are the names (``ts.zeros(*size)``
    documents ``zeros``; a span that is not a name, such as ``+ - *``, documents nothing)."""
    found, surface = {}, None
    for number, line in enumerate(api.read_text(encoding="utf-8").split("\n"), 1):
        heading = re.match(r"## `([\w.]+)`", line)
        if heading:
            surface = heading.group(1)
            found.setdefault(surface, {})
        elif line.startswith("| `") and surface is not None:
            for span in re.findall(r"`([^`]+)`", line.split("|")[1]):
                name = re.split(r"[(\[ ]", span, 1)[0].rsplit(".", 1)[-1]
                if name.isidentifier():
                    found[surface][name] = number
    return found


def api_problems(api):
    """What to change in ``api`` so that it lists exactly the public names, one line each."""
    public, docs = surfaces(), documented(api)
    problems = []
    for surface in sorted(set(public) - set(docs)):
        problems.append(f"add a section '## `{surface}`' with one table row for each of: "
                        f"{', '.join(sorted(public[surface][1]))}")
    for surface in sorted(set(docs) - set(public)):
        problems.append(f"remove or rename the section '## `{surface}`': tinyseq has no such "
                        f"public module or walked class (see ROOTS and CLASSES in "
                        f"tests/test_docs.py)")
    for surface in sorted(set(public) & set(docs)):
        obj, names = public[surface]
        missing = sorted(names - set(docs[surface]))
        if missing:
            problems.append(f"add under '## `{surface}`' one row each for: {', '.join(missing)}")
        absent = sorted(f"{name} (line {line})" for name, line in docs[surface].items()
                        if not hasattr(obj, name))
        if absent:
            problems.append(f"under '## `{surface}`', {surface} has no: {', '.join(absent)}")
    return problems


def test_api_md_documents_every_public_name_and_nothing_else():
    problems = api_problems(API)
    assert not problems, "docs/api.md is out of date:\n" + "\n".join(problems)


def test_api_md_check_names_a_missing_and_an_invented_name(tmp_path):
    text = API.read_text(encoding="utf-8")
    assert "| `randn(" in text
    edited = tmp_path / "api.md"
    edited.write_text(text.replace("| `randn(", "| `randnn(", 1), encoding="utf-8")
    problems = "\n".join(api_problems(edited))
    assert "add under '## `tinyseq`' one row each for: randn\n" in problems + "\n"
    assert "under '## `tinyseq`', tinyseq has no: randnn (line" in problems


def test_public_names_walk_reaches_the_modules_a_user_imports():
    public = surfaces()
    for surface in ["tinyseq", "tinyseq.nn", "tinyseq.functional", "tinyseq.optim",
                    "tinyseq.optim.lr_scheduler", "tinyseq.utils.data", "tinyseq.nn.init",
                    "tinyseq.nn.utils.rnn", "tinyseq.Tensor"]:
        assert surface in public
    assert {"tensor", "no_grad", "trace", "nn", "float32"} <= public["tinyseq"][1]
    assert "_numpy" not in public["tinyseq"][1]
    assert {"LSTM", "Module", "init"} <= public["tinyseq.nn"][1]
    assert {"backward", "add_", "T"} <= public["tinyseq.Tensor"][1]
    assert public["tinyseq.nn.utils"][1] == {"clip_grad_norm_", "clip_grad_value_", "rnn",
                                             "parameters_to_vector", "vector_to_parameters"}


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_blocks_run_as_written(guide, tmp_path):
    blocks = scripts(REPOSITORY / "docs" / guide)
    assert blocks
    for title, source in blocks:
        result = run(source, tmp_path)
        assert result.returncode == 0, failure(f"{guide}: {title}", result)


def test_op_example_is_the_example_script():
    text = (REPOSITORY / "docs" / "how-it-works.md").read_text(encoding="utf-8")
    section = text[text.index("## Writing your own op"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = (REPOSITORY / "examples" / "custom_op.py").read_text(encoding="utf-8")
    assert block in script


def test_every_local_link_and_picture_exists():
    pages = [REPOSITORY / "README.md", REPOSITORY / "CONTRIBUTING.md",
             *sorted((REPOSITORY / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text(encoding="utf-8")):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPOSITORY)}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)
