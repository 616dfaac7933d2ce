"""The documentation: README.md and docs/ only name what exists, and say what the code does.

* README.md has at most 150 lines; the rest lives in docs/.
* Every relative link, and every backticked token that looks like a repository path, in
  README.md and docs/**/*.md points to a file or folder that is in the repository (tracked or
  about to be: ``git ls-files --cached --others --exclude-standard``, and present on disk).
  Link anchors (``page.md#section``) must name a heading of the target page.
* No absolute machine paths and no real village codes: examples use the fictional 99.01 codes.
* The JSON examples of the reference pages conform to the schemas, and their totals add up.
* Every schema field, environment variable, ``planner`` command and option is documented.
* ``.md`` files named in the code (planner/, bench/, tests/) exist, and the code's comments and
  docstrings hold no absolute machine paths.

Plain file reading, no app and no database: this runs in well under a second.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
THIS = Path(__file__).resolve()
README_MAX_LINES = 150

#: Run-time outputs the docs may name although they are never committed (made by make/planner).
GENERATED = ("instance", "instance/planner.sqlite", "instance/secret_key", ".venv",
             "bench/out", "maps/*.html")
#: Documents that exist outside the repository and may be named (never linked) by file name.
EXTERNAL_DOCS = {"FIELD.md"}
#: The data folder shared with the project, next to the checkout (documented as outside it).
SHARED_PREFIX = "../shared/"
#: Extensions that make a backticked token with a "/" a file path.
PATH_EXTENSIONS = {".py", ".md", ".json", ".csv", ".geojson", ".png", ".html", ".txt", ".cfg",
                   ".toml", ".ini", ".mako", ".po", ".pot", ".mo", ".sh", ".css", ".js",
                   ".zip", ".xlsx", ".gpkg", ".pdf", ".svg", ".yml", ".yaml"}

ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:work|home|root|tmp|Users|mnt)/"
                           r"|\b[A-Za-z]:\\(?:Users|Documents)\\")
CODE_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:work|home|root|Users)/")
KOTIM_CODE = re.compile(r"\b62\.02\.|\b6202\d{6}\b")
VILLAGE_CODE = re.compile(r"(?<![\d.])\d{2}\.\d{2}\.\d{2}\.\d{4}(?![\d.])")
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
FENCE_JSON = re.compile(r"^```json[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
MD_REF = re.compile(r"(?<![\w/.-])((?:\.\.?/)*/?[\w./-]*[\w-]\.md)\b")


# --------------------------------------------------------------------------- the repository
@lru_cache(maxsize=1)
def repo_files() -> frozenset[str]:
    """Files in the repository (tracked or new, not ignored) that exist on disk, as posix paths."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True, timeout=30).stdout.decode("utf-8")
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.SubprocessError):  # not a git checkout: take what is on disk
        skip = {".git", ".venv", "instance", "__pycache__", ".pytest_cache", ".ruff_cache"}
        names = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
                 if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    return frozenset(n for n in names if (ROOT / n).is_file())


@lru_cache(maxsize=1)
def repo_dirs() -> frozenset[str]:
    dirs = set()
    for name in repo_files():
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return frozenset(dirs)


@lru_cache(maxsize=1)
def top_dirs() -> frozenset[str]:
    return frozenset(d for d in repo_dirs() if "/" not in d)


def in_repo(rel: str) -> bool:
    """``rel`` (posix, relative to the root; may end in "/", may be a glob) is in the repo."""
    rel = rel.rstrip("/")
    if rel in ("", "."):
        return True
    if any(ch in rel for ch in "*?["):
        return any(fnmatch.fnmatch(n, rel) for n in repo_files() | repo_dirs())
    return rel in repo_files() or rel in repo_dirs()


def is_generated(rel: str) -> bool:
    rel = rel.rstrip("/")
    return any(rel == g or fnmatch.fnmatch(rel, g) or rel.startswith(g + "/") for g in GENERATED)


def rel_to_root(base_dir: Path, target: str) -> str | None:
    """``target`` resolved from ``base_dir`` as a root-relative posix path (None: outside)."""
    path = Path(os.path.normpath(base_dir / target))
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return None


# --------------------------------------------------------------------------- markdown
def doc_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(text: str) -> str:
    """The text without fenced code blocks (blank lines keep the line numbers)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip()).lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    out: set[str] = set()
    seen: dict[str, int] = {}
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(read(path)), re.M):
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def where(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def looks_like_path(token: str) -> bool:
    if token.startswith(("../", "./")):
        return True
    if "/" in token:
        first = token.split("/", 1)[0]
        return first in top_dirs() or first in {"instance", ".venv"} or \
            Path(token.rstrip("/")).suffix in PATH_EXTENSIONS
    return re.fullmatch(r"\w[\w.-]*\.md", token) is not None


def clean_token(token: str) -> str:
    token = token.split("::", 1)[0].split("#", 1)[0]
    return re.sub(r":\d+$", "", token)


def missing_md(ref: str, base_dir: Path) -> str | None:
    """Why a named ``.md`` file (``ENGINE.md``, ``docs/x.md``, ``../y.md``) is not in the
    repository, or None when it is (or is the documented outside material)."""
    if ref.startswith("/"):
        return "absolute path"
    if ref.startswith(SHARED_PREFIX) or ref in EXTERNAL_DOCS:
        return None
    if "/" not in ref:
        found = any(n.rsplit("/", 1)[-1] == ref for n in repo_files())
        return None if found else "no such file in the repository"
    relative = rel_to_root(base_dir, ref)
    if in_repo(ref) or (relative is not None and in_repo(relative)):
        return None
    return "no such file in the repository"


def broken_references(path: Path, text: str | None = None) -> list[str]:
    """Links and backticked paths of one page that point at nothing in the repository."""
    text = prose(read(path) if text is None else text)
    problems = []
    base = path.parent

    # backticked paths
    for m in CODE_SPAN.finditer(text):
        token = clean_token(m.group(1).strip())
        if not token or any(c.isspace() for c in token) or not looks_like_path(token):
            continue
        if token.startswith(("/", "~")) or SCHEME.match(token) or any(c in token for c in "<>{}$="):
            continue
        if token.startswith(SHARED_PREFIX) or token == SHARED_PREFIX.rstrip("/"):
            continue
        if "/" not in token:  # a bare .md file name
            if token in EXTERNAL_DOCS or any(n.rsplit("/", 1)[-1] == token for n in repo_files()):
                continue
            problems.append(f"{where(path)}:{line_of(text, m.start())}: `{token}` is no file here")
            continue
        candidates = [token] if not token.startswith(("../", "./")) else []
        relative = rel_to_root(base, token)
        if relative is not None:
            candidates.append(relative)
        if any(in_repo(c) or is_generated(c) for c in candidates):
            continue
        problems.append(f"{where(path)}:{line_of(text, m.start())}: `{token}` does not exist")

    # links (inline and reference style); code spans are not links
    plain = CODE_SPAN.sub(lambda m: "`" + "x" * len(m.group(1)) + "`", text)

    # .md files named in the prose, outside code spans and links
    bare = LINK.sub(lambda m: " " * len(m.group(0)), plain)
    for m in MD_REF.finditer(bare):
        why = missing_md(m.group(1), base)
        if why:
            problems.append(f"{where(path)}:{line_of(bare, m.start())}: {m.group(1)}: {why}")

    for m in [*LINK.finditer(plain), *REF_LINK.finditer(plain)]:
        target = m.group(1)
        at = f"{where(path)}:{line_of(plain, m.start())}"
        if SCHEME.match(target) or target.startswith("//"):
            continue
        file_part, _, anchor = target.partition("#")
        if not file_part:
            if anchor and anchor not in anchors(path):
                problems.append(f"{at}: ({target}) names no heading of this page")
            continue
        if file_part.startswith("/"):
            problems.append(f"{at}: ({target}) is absolute; link relative to the page")
            continue
        rel = rel_to_root(base, file_part)
        if rel is None or not in_repo(rel):
            problems.append(f"{at}: ({target}) points outside the repository or at nothing")
            continue
        if anchor and rel.endswith(".md") and anchor not in anchors(ROOT / rel):
            problems.append(f"{at}: ({target}) names no heading of {rel}")
    return problems


# --------------------------------------------------------------------------- tests: pages
def test_readme_is_at_most_150_lines():
    n = len(read(README).splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; move the rest to docs/"


def test_docs_exist_where_the_code_says():
    """Code docstrings and schemas cite these exact paths."""
    for rel in ("docs/reference/plan-json.md", "docs/reference/plan-params.md",
                "docs/developing/architecture.md", "docs/README.md"):
        assert (ROOT / rel).is_file(), rel


def test_links_and_paths_point_to_files_in_the_repository():
    problems = [p for f in doc_files() for p in broken_references(f)]
    assert not problems, "\n".join(problems)


def test_no_absolute_machine_paths_in_docs():
    problems = []
    for f in doc_files():
        text = read(f)
        for m in ABSOLUTE_PATH.finditer(text):
            problems.append(f"{where(f)}:{line_of(text, m.start())}: {m.group(0)!r}")
    assert not problems, "\n".join(problems)


def test_examples_use_the_fictional_codes():
    problems = []
    for f in doc_files():
        text = read(f)
        for m in KOTIM_CODE.finditer(text):
            problems.append(f"{where(f)}:{line_of(text, m.start())}: real code {m.group(0)!r}")
        for m in VILLAGE_CODE.finditer(text):
            if not m.group(0).startswith("99.01."):
                problems.append(f"{where(f)}:{line_of(text, m.start())}: code {m.group(0)!r} "
                                "is not a fictional 99.01 code")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- tests: contracts
def json_examples(rel: str) -> list[object]:
    text = read(ROOT / rel)
    out = []
    for m in FENCE_JSON.finditer(text):
        try:
            out.append(json.loads(m.group(1)))
        except json.JSONDecodeError as exc:
            pytest.fail(f"{rel}:{line_of(text, m.start())}: ```json block is not JSON: {exc}")
    return out


def schema_properties(node, out: set[str] | None = None) -> set[str]:
    """Every property name a JSON Schema defines (through $defs, not external $refs)."""
    out = set() if out is None else out
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            out.add(name)
            schema_properties(sub, out)
        for key, sub in node.items():
            if key != "properties":
                schema_properties(sub, out)
    elif isinstance(node, list):
        for sub in node:
            schema_properties(sub, out)
    return out


def undocumented(names: set[str], doc: str) -> list[str]:
    spans = " ".join(CODE_SPAN.findall(read(ROOT / doc)))
    return sorted(n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", spans))


def test_plan_json_example_conforms_and_adds_up():
    from planner import plan_json

    plans = [d for d in json_examples("docs/reference/plan-json.md")
             if isinstance(d, dict) and d.get("format") == plan_json.FORMAT]
    assert plans, "docs/reference/plan-json.md needs a complete example"
    for plan in plans:
        assert plan_json.schema_errors(plan) == []
        assert plan_json.contract_totals(plan) == plan["totals"]
        for td in plan_json.team_days(plan, with_empty=True):
            assert td.day["totals"]["people"] == sum(s["expected"] for s in td.stops)
            for s in td.stops:
                assert "99.01." in s["site_code"]


def test_plan_params_examples_conform_and_round_trip():
    from planner import params, plan_json

    docs = [d for d in json_examples("docs/reference/plan-params.md") if isinstance(d, dict)]
    full = [d for d in docs if d.get("format") == params.FORMAT]
    assert full, "docs/reference/plan-params.md needs a complete example"
    for d in full:
        assert plan_json.params_schema_errors(d) == []
        assert params.PlanParams.from_dict(d).to_dict() == d
    for d in json_examples("docs/reference/plan-json.md"):
        if isinstance(d, dict) and "params" in d:
            assert params.PlanParams.from_dict(d["params"]).to_dict() == d["params"]


def test_every_schema_field_is_documented():
    for schema, doc in (("plan.schema.json", "docs/reference/plan-json.md"),
                        ("plan-params.schema.json", "docs/reference/plan-params.md")):
        names = schema_properties(json.loads(read(ROOT / "planner" / "schemas" / schema)))
        missing = undocumented(names, doc)
        assert not missing, f"{doc} does not mention {missing}"


def environment_variables() -> dict[str, str]:
    pattern = re.compile(r"""(?:environ\.get|environ\.setdefault|getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
                         r"""|environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""")
    out = {}
    for top in ("planner", "bench", "tests"):
        for f in sorted((ROOT / top).rglob("*.py")):
            for m in pattern.finditer(read(f)):
                out.setdefault(m.group(1) or m.group(2), where(f))
    return out


def test_every_environment_variable_is_documented():
    doc = read(ROOT / "docs" / "reference" / "configuration.md")
    missing = {k: v for k, v in environment_variables().items() if f"`{k}`" not in doc}
    assert not missing, f"docs/reference/configuration.md does not mention {missing}"


def cli_commands() -> dict[str, object]:
    """The ``planner`` commands of planner/cli/ (each module's ``COMMANDS``), by name."""
    import importlib

    out = {}
    for f in sorted((ROOT / "planner" / "cli").glob("*.py")):
        module = importlib.import_module(f"planner.cli.{f.stem}") if f.stem != "__init__" \
            else importlib.import_module("planner.cli")
        for command in getattr(module, "COMMANDS", ()):
            out[command.name] = command
    return out


def cli_sections(doc: str) -> dict[str, str]:
    """``planner NAME`` → the text of its ``### `planner NAME` `` section, with the intro of the
    ``##`` section it belongs to (where options shared by several commands are described)."""
    out = {}
    for part in re.split(r"^(?=## )", doc, flags=re.M):
        intro, *subs = re.split(r"^(?=### )", part, flags=re.M)
        for sub in subs:
            m = re.match(r"### `planner ([\w-]+)`", sub)
            if m:
                out[m.group(1)] = intro + sub
    return out


def test_every_planner_command_and_option_is_documented():
    doc = read(ROOT / "docs" / "reference" / "cli.md")
    sections = cli_sections(doc)
    commands = cli_commands()
    assert commands, "no commands found in planner/cli/"
    missing = []
    for name, command in sorted(commands.items()):
        text = sections.get(name)
        if text is None:
            missing.append(f"section `planner {name}`")
            continue
        for param in command.params:
            for flag in [*param.opts, *param.secondary_opts]:
                if flag.startswith("--") and not re.search(rf"`{re.escape(flag)}(?![\w-])", text):
                    missing.append(f"planner {name} {flag}")
    assert not missing, "docs/reference/cli.md does not document: " + ", ".join(missing)


# --------------------------------------------------------------------------- tests: the code
def code_files() -> list[Path]:
    return [f for top in ("planner", "bench", "tests") for f in sorted((ROOT / top).rglob("*.py"))
            if f.resolve() != THIS and "__pycache__" not in f.parts]


def test_md_files_named_in_the_code_exist():
    problems = []
    for f in code_files():
        text = read(f)
        for m in MD_REF.finditer(text):
            why = missing_md(m.group(1), f.parent)
            if why:
                problems.append(f"{where(f)}:{line_of(text, m.start())}: {m.group(1)} ({why})")
    assert not problems, "references to .md files that are not in the repository:\n" + \
        "\n".join(problems)


def test_no_absolute_machine_paths_in_the_code():
    problems = []
    for f in code_files():
        text = read(f)
        for m in CODE_ABSOLUTE_PATH.finditer(text):
            line = text.splitlines()[line_of(text, m.start()) - 1].strip()
            problems.append(f"{where(f)}:{line_of(text, m.start())}: {line}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the checks can fail
def test_the_reference_check_finds_a_broken_link_and_path():
    page = DOCS / "user" / "_probe.md"  # never written: the text is passed in
    text = ("See [the engine](ENGINE.md), [ok](../reference/engine.md#the-search), "
            "[bad anchor](planning.md#no-such-heading), `notes/README-travel.md`, "
            "`planner/nope.py`, `planner/engine/`, `../shared/data/kotim/`, "
            "`/rencana/<id>/v<n>`, `road/both`, the field notes (FIELD.md) and the "
            "COMMON.md contract.\n```\nplanner/also-nope.py\n```\n")
    problems = broken_references(page, text)
    joined = "\n".join(problems)
    assert "ENGINE.md" in joined and "notes/README-travel.md" in joined and "COMMON.md" in joined
    assert "planner/nope.py" in joined and "no-such-heading" in joined
    assert "engine.md#the-search" not in joined and "planner/engine/" not in joined
    assert "also-nope" not in joined and "shared" not in joined and "rencana" not in joined
    assert "FIELD.md" not in joined
    assert len(problems) == 5, joined


def test_the_pattern_checks_can_fail():
    assert ABSOLUTE_PATH.search("see /work/shared/docs/FIELD.md")
    assert ABSOLUTE_PATH.search("python /tmp/x.py")
    assert not ABSOLUTE_PATH.search("Playwright drives /usr/bin/chromium; open /rencana/1/v2")
    assert KOTIM_CODE.search("kode 62.02.15.2004") and KOTIM_CODE.search("6202012003")
    assert [m.group(0) for m in VILLAGE_CODE.finditer("99.01.01.1003, 63.01.01.2001")] == \
        ["99.01.01.1003", "63.01.01.2001"]
    assert [m.group(1) for m in MD_REF.finditer("(ENGINE.md); notes/README-travel.md, x.mdx")] \
        == ["ENGINE.md", "notes/README-travel.md"]
    assert slug("Kesenjangan: the gap view (`/`)") == "kesenjangan-the-gap-view-"
