"""Projects in, pages out: ``{relative path: bytes}``. Pure and deterministic.

Every page is built as a string with ``html.escape`` (pages are rendered once per
project, tens of thousands of times on a large index: a template engine costs several
times more there, and importing jinja2 alone cost a one-project run a tenth of its
time), the JSON formatted as ``json.dumps(sort_keys=True)`` would write it, with its
escaper. Nothing here reads a clock: the same projects give the same bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from json.encoder import encode_basestring as _quote  # the C escaper json.dumps uses
from urllib.parse import quote

from ..wheelmeta import RECORD_SUFFIX
from . import layout
from .model import IndexedFile, IndexedProject, ProjectSummary, RecipeFacts, Retired
from .platforms import isa_text, libc_requirement
from .settings import IndexSettings

# PEP 629. 1.0: PEP 503/592/658 (HTML) and 691 (JSON); 1.1: PEP 700 (versions, size,
# upload-time); 1.2: PEP 708 (tracks). Clients warn only when the major version is new.
API_VERSION = "1.2"
PYPI_PROJECT = "https://pypi.org/project/"  # where people look a project up

_STYLE_SHEET = layout.TEMPLATES / "style.css"


def render_project(project: IndexedProject, settings: IndexSettings) -> dict[str, bytes]:
    """A project's API pages (HTML and JSON) and its human page."""
    return {
        layout.simple_page(project.name): simple_project_html(project, settings),
        layout.simple_json(project.name): simple_project_json(project, settings),
        layout.project_page(project.name): project_page(project, settings),
    }


def render_root(
    rows: Mapping[str, str], wheels: int, retired: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """The project lists and the landing page, from every published project's landing
    row (``landing_row``), the number of wheels they publish and the retired recipes
    (project -> the upstream release since which PyPI has riscv64 wheels)."""
    names = sorted(rows)
    landing = landing_page([rows[name] for name in names], wheels, retired or {}, set(rows))
    return {
        layout.SIMPLE_ROOT_HTML: simple_root_html(names),
        layout.SIMPLE_ROOT_JSON: simple_root_json(names),
        layout.LANDING_PAGE: landing,
        layout.STYLE_SHEET: _STYLE_SHEET.read_bytes(),  # static: served as it is
        layout.NO_JEKYLL: b"",
    }


def render(
    projects: Iterable[IndexedProject],
    settings: IndexSettings,
    retired: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """The whole site (without wheels, metadata files, records and logs)."""
    from .model import summarize

    pages: dict[str, bytes] = {}
    rows: dict[str, str] = {}
    wheels = 0
    for project in projects:
        if project.files:
            pages.update(render_project(project, settings))
            rows[project.name] = landing_row(summarize(project))
            wheels += len(project.files)
    pages.update(render_root(rows, wheels, retired))
    return dict(sorted(pages.items()))


# --- the simple API: HTML (PEP 503, 592, 629, 658/714, 708) ------------------------


def _head(title: str, tracks: Iterable[str] = ()) -> str:
    metas = "".join(f'<meta name="pypi:tracks" content="{escape(url)}">\n' for url in tracks)
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f'<meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"{metas}<title>{escape(title)}</title>\n</head>\n<body>\n"
    )


def simple_root_html(names: Iterable[str]) -> bytes:
    links = "".join(f'<a href="{name}/">{name}</a><br>\n' for name in names)
    return (_head("Simple index") + links + "</body>\n</html>\n").encode()


def simple_project_html(project: IndexedProject, settings: IndexSettings) -> bytes:
    files_url = escape(layout.files_url(settings.base_url, f"simple/{project.name}"))
    lines = [
        _head(f"Links for {project.name}", project.tracks),
        f"<h1>Links for {project.name}</h1>\n",
    ]
    plain = _plain_names(project)
    for file in project.files:
        text, href = _link(files_url, file.filename, plain)
        if file.url is not None:  # hosted elsewhere (a release asset)
            href = escape(file.url)
        requires = file.requires_python
        requires = f' data-requires-python="{_escape(requires)}"' if requires else ""
        yanked = f' data-yanked="{_escape(file.yanked)}"' if file.yanked is not None else ""
        # PEP 714 renamed data-dist-info-metadata to data-core-metadata; pip before
        # 23.3 only knows the old name, so both are given.
        metadata = file.metadata_sha256
        lines.append(
            f'<a href="{href}#sha256={file.sha256}"{requires}'
            f' data-core-metadata="sha256={metadata}" data-dist-info-metadata="sha256={metadata}"'
            f"{yanked}>{text}</a><br>\n"
        )
    lines.append("</body>\n</html>\n")
    return "".join(lines).encode()


# Wheel file names, versions and hashes hardly ever hold a character that HTML, JSON or
# a URL would escape: the escapers run only for those that do (100,000 times over).
_PLAIN = re.compile(r"[A-Za-z0-9._-]*")


def _plain_names(project: IndexedProject) -> bool:
    """Whether no file name of the project needs escaping anywhere (one check per
    project: its names joined are plain exactly when each one is)."""
    return _PLAIN.fullmatch("".join([file.filename for file in project.files])) is not None


def _link(files_url: str, filename: str, plain: bool) -> tuple[str, str]:
    """A wheelhouse file's link text and href in HTML (``files_url`` already escaped);
    ``plain``: no name of its project needs escaping (``_plain_names``)."""
    if plain:
        return filename, files_url + filename
    return escape(filename), files_url + quote(filename)  # quote() leaves nothing to escape


@functools.lru_cache(maxsize=4096)
def _escape(text: str) -> str:
    """html.escape for the few texts that recur (Requires-Python, yank reasons)."""
    return escape(text)


@functools.lru_cache(maxsize=4096)
def _tags(tags: tuple[str, ...]) -> str:
    return escape(" ".join(tags))


# --- the simple API: JSON (PEP 691, 700, 708, 714) ---------------------------------


def simple_root_json(names: Iterable[str]) -> bytes:
    """The PEP 691 project list, as ``json.dumps(sort_keys=True)`` would write it (formatted
    directly: a one-project change rewrites it, and dumping 10,000 dicts costs 10 ms)."""
    projects = ",".join(f'{{"name":{_quote(name)}}}' for name in names)
    return f'{{"meta":{{"api-version":"{API_VERSION}"}},"projects":[{projects}]}}\n'.encode()


def simple_project_json(project: IndexedProject, settings: IndexSettings) -> bytes:
    """The PEP 691 page, exactly as ``json.dumps(sort_keys=True)`` would write it.

    The file entries are formatted directly (strings through the json module's own
    escaping): three times faster than building and dumping dicts, 100,000 times over.
    """
    files_url = layout.files_url(settings.base_url, f"simple/{project.name}")
    tracks = f',"tracks":[{",".join(map(_quote, project.tracks))}]' if project.tracks else ""
    quoted_url = _quote(files_url)[1:-1]  # escaped once: file names rarely need it
    plain = _plain_names(project)
    files = ",".join([_json_file(f, files_url, quoted_url, plain) for f in project.files])
    versions = ",".join(map(_quote, project.versions))
    return (
        f'{{"files":[{files}],"meta":{{"api-version":"{API_VERSION}"{tracks}}},'
        f'"name":{_quote(project.name)},"versions":[{versions}]}}\n'
    ).encode()


def _json_file(file: IndexedFile, files_url: str, quoted_url: str, plain: bool) -> str:
    filename = file.filename
    if plain:
        name, url = f'"{filename}"', f'"{quoted_url}{filename}"'
    else:
        name, url = _quote(filename), _quote(files_url + quote(filename))
    if file.url is not None:
        url = _quote(file.url)
    requires = file.requires_python
    requires = f',"requires-python":{_quote(requires)}' if requires else ""
    uploaded = f',"upload-time":"{file.upload_time}"' if file.upload_time is not None else ""
    yanked = "false" if file.yanked is None else _quote(file.yanked) if file.yanked else "true"
    metadata = f'{{"sha256":"{file.metadata_sha256}"}}'
    return (
        f'{{"core-metadata":{metadata},"dist-info-metadata":{metadata},'  # PEP 714's old name
        f'"filename":{name},"hashes":{{"sha256":"{file.sha256}"}}{requires},"size":{file.size}'
        f'{uploaded},"url":{url},"yanked":{yanked}}}'
    )


# --- the human pages ---------------------------------------------------------------


def landing_page(
    rows: Sequence[str],
    wheels: int,
    retired: Mapping[str, str] | None = None,
    published: Iterable[str] = (),
) -> bytes:
    """Every project with its latest version and newest build, one ``landing_row`` each;
    then the retired projects, which PyPI serves (linked to their page here, if any)."""
    projects = len(rows)
    # The table is most of the page (2 MB at 10,000 projects) and plain ASCII as a rule:
    # encoded on its own it is copied as it is, where inside the rest of the page (which
    # holds a "…") it would be widened to two bytes a character first.
    table = "\n".join([*rows, ""]).encode()  # each row then a newline
    retired_list = ""
    if retired:
        here = set(published)
        items = "".join(
            f'<li><a href="{layout.project_page(name) if name in here else _pypi(name)}">'
            f"{escape(name)}</a> (since {escape(since)})</li>\n"
            for name, since in sorted(retired.items())
        )
        retired_list = (
            "<h2>Retired: install these from PyPI</h2>\n"
            "<p>Their upstream releases ship riscv64 wheels now; nothing is built here "
            "any more (files published before stay).</p>\n"
            f'<ul class="retired">\n{items}</ul>\n'
        )
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>riscv64 wheels</title>\n<link rel="stylesheet" href="{layout.STYLE_SHEET}">\n'
        "</head>\n<body>\n<h1>riscv64 wheels</h1>\n"
        f"<p>{projects} project{'s' if projects != 1 else ''}, "
        f"{wheels} wheel{'s' if wheels != 1 else ''}. Install with\n"
        "<code>pip install --index-url &lt;this page&gt;/simple/ NAME</code>\n"
        "(or <code>--extra-index-url</code>, or <code>uv pip install --index-url …</code>).\n"
        'The <a href="simple/">simple index</a> also comes as JSON: '
        '<a href="simple/index.json">simple/index.json</a>.</p>\n'
        '<div class="scroll">\n<table>\n<thead><tr><th>project</th><th>latest</th>'
        "<th>python</th><th>platform</th><th>build</th><th>last build</th></tr></thead>\n"
        "<tbody>\n"
    )
    tail = f"</tbody>\n</table>\n</div>\n{retired_list}</body>\n</html>\n"
    return b"".join([head.encode(), table, tail.encode()])


# Landing rows are kept in the manifest, one line per project: no tab or newline in them.
_ONE_LINE = str.maketrans("\t\n\r", "   ")


def landing_row(summary: ProjectSummary) -> str:
    """A project's row in the landing page's table; built as a string and kept in the
    manifest, so that a run re-renders only the rows of the projects it changed."""
    if summary.status == "ok":
        status = '<span class="ok">ok</span>'
    elif summary.status == "retired":
        status = '<span class="retired">retired: use PyPI</span>'
    elif summary.status == "removed":
        status = '<span class="failed">removed</span>'
    elif summary.status_log:
        status = f'<a class="failed" href="{escape(summary.status_log)}">failed</a>'
    else:
        status = '<span class="failed">failed</span>'
    row = (
        f'<tr><td><a href="projects/{summary.name}.html">{escape(summary.display_name)}</a></td>'
        f"<td>{escape(summary.latest_version)}</td>"
        f"<td>{escape(' '.join(summary.python_tags))}</td>"
        f"<td>{escape(' '.join(summary.platform_tags))}</td>"
        f"<td>{status}</td><td>{escape(summary.last_build)}</td></tr>"
    )
    return row.translate(_ONE_LINE)


def project_page(project: IndexedProject, settings: IndexSettings) -> bytes:
    """Every file of the project, newest first, with its build record and log.

    Built as a string, like the API pages: it is rendered once per project.
    """
    here = "projects"
    name, title = project.name, escape(project.display_name)
    simple = layout.relative(here, f"simple/{name}/")
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title} · riscv64 wheels</title>\n"
        f'<link rel="stylesheet" href="{layout.relative(here, layout.STYLE_SHEET)}">\n'
        "</head>\n<body>\n"
        f'<p class="muted"><a href="{layout.relative(here, layout.LANDING_PAGE)}">all projects</a>'
        f' · <a href="{simple}">simple index page</a> · <a href="{simple}index.json">JSON</a></p>\n'
        f"<h1>{title}</h1>\n"
        f"<pre>pip install --index-url &lt;this index&gt;/simple/ {name}</pre>\n"
    ]
    if project.tracks:
        links = ", ".join(f'<a href="{escape(u)}">{escape(u)}</a>' for u in project.tracks)
        parts.append(f'<p class="muted">Tracks {links} (PEP 708).</p>\n')
    failure = project.latest_failure
    if failure is not None:
        why = f": {escape(failure.error)}" if failure.error else ""
        build_links = [
            f'<a href="{layout.relative(here, path)}">{label}</a>'
            for label, path in (("log", failure.log), ("record", failure.record))
            if path is not None
        ]
        parts.append(
            f'<p class="failed">The newest build ({escape(failure.version)}, started '
            f"{escape(failure.started)}) failed{why}. {' · '.join(build_links)}</p>\n"
        )
    if project.recipe is not None:
        parts.append(_recipe_sections(project.recipe))
    count = len(project.files)
    parts.append(f'<h2>{count} file{"s" if count != 1 else ""}</h2>\n<ul class="files">\n')
    rank = {version: number for number, version in enumerate(project.versions)}
    newest_first = sorted(project.files, key=lambda f: (rank[f.version], f.filename), reverse=True)
    files_url = escape(layout.files_url(settings.base_url, here))
    plain = _plain_names(project)
    for file in newest_first:
        text, in_files = _link(files_url, file.filename, plain)
        href = in_files if file.url is None else escape(file.url)
        yanked = ""
        if file.yanked is not None:
            reason = f": {_escape(file.yanked)}" if file.yanked else ""
            yanked = f' <span class="yanked">yanked{reason}</span>'
        requires = file.requires_python
        requires = f" · Requires-Python {_escape(requires)}" if requires else ""
        built = f" · built {file.upload_time[:10]}" if file.upload_time else ""
        runs = _runs_on(file)
        build = ""
        if file.build is not None:  # its record is in files/, even for a hosted wheel
            build = f' · <a href="{in_files}{RECORD_SUFFIX}">build record</a>'
            if file.build.log is not None:
                build += f' · <a href="{layout.relative(here, file.build.log)}">log</a>'
            if file.build.compiler:
                build += f" · compiled by {_compiler_text(file.build.compiler)}"
        parts.append(
            f'<li><a href="{href}">{text}</a>{yanked}<br>\n<span class="muted">{file.version} · '
            f"{_tags(file.python_tags)} · {_tags(file.platform_tags)} · {file.size} bytes"
            f"{requires}{built}</span><br>\n{runs}"
            f'<span class="muted">sha256 <code>{file.sha256}</code>{build}</span></li>\n'
        )
    parts.append("</ul>\n")
    if project.removed:
        parts.append(
            '<h2>Removed</h2>\n<p class="muted">Taken down on purpose; these names are '
            'never published again.</p>\n<ul class="files">\n'
        )
        for filename, reason in project.removed:
            parts.append(f"<li>{escape(filename)}: {_escape(reason)}</li>\n")
        parts.append("</ul>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts).encode()


def _runs_on(file: IndexedFile) -> str:
    """Where the wheel runs: the C library it needs and the ISA its code needs."""
    return _runs_on_text(file.platform_tags, file.build.isa if file.build is not None else None)


@functools.lru_cache(maxsize=4096)
def _runs_on_text(platform_tags: tuple[str, ...], isa: str | None) -> str:
    # A few platform tag sets and ISAs recur across a whole index: each said once.
    needs = [libc_requirement(platform_tags)]
    if isa is not None:
        needs.append(isa_text(isa))
    text = " · ".join(_escape(need) for need in needs if need)
    return f'<span class="runs">Runs on: {text}</span><br>\n' if text else ""


def _recipe_sections(recipe: RecipeFacts) -> str:
    """Where the source comes from and the patches on it; for a retired recipe, where to
    get the project instead (how it would be built is moot: nothing is)."""
    if recipe.retired is not None:
        return _retired_notice(recipe.retired)
    parts = [
        f"<h2>How it is built</h2>\n<p>{escape(recipe.version)} is built from "
        f"{_source_text(recipe)}.</p>\n"
    ]
    if not recipe.patches:
        parts.append("<p>No patches: the source as published.</p>\n")
        return "".join(parts)
    count = len(recipe.patches)
    parts.append(f"<p>{count} patch{'es' if count != 1 else ''}, applied in this order:</p>\n")
    parts.append('<ul class="patches">\n')
    for patch in recipe.patches:
        detail = f" {_linked(patch.detail)}" if patch.detail else ""
        parts.append(
            f"<li><code>{escape(patch.name)}</code>: {escape(patch.summary)}<br>\n"
            f'<span class="muted">Upstream-Status: {escape(patch.status)}{detail}</span></li>\n'
        )
    parts.append("</ul>\n")
    return "".join(parts)


def _retired_notice(retired: Retired) -> str:
    name = escape(retired.pypi)
    reason = escape(retired.reason[:1].upper() + retired.reason[1:])
    wheels = len(retired.evidence)
    evidence = "".join(f"<li><code>{escape(wheel)}</code></li>\n" for wheel in retired.evidence)
    return (
        f'<p class="retired">Upstream ships riscv64 wheels since {escape(retired.since)}: '
        f'install from PyPI (<code>pip install {name}</code>, <a href="{_pypi(retired.pypi)}">'
        f"{name} on PyPI</a>). {reason}. Nothing is built here any more; the files below "
        "stay available.</p>\n"
        f"<details><summary>Evidence: {wheels} riscv64 wheel{'s' if wheels != 1 else ''} "
        f"on PyPI</summary>\n<ul>\n{evidence}</ul>\n</details>\n"
    )


def _source_text(recipe: RecipeFacts) -> str:
    pin = escape(recipe.pin)
    if recipe.source == "pypi":
        link = f"{_pypi(recipe.location)}{quote(recipe.version)}/"
        return f'<a href="{link}">its sdist on PyPI</a> (sha256 <code>{pin}</code>)'
    if recipe.source == "archive":
        return f"the archive {_linked(recipe.location)} (sha256 <code>{pin}</code>)"
    where = _linked(recipe.location)
    commit = f"<code>{pin}</code>"
    if recipe.location.startswith("https://github.com/"):
        tree = recipe.location.removesuffix("/").removesuffix(".git") + f"/tree/{recipe.pin}"
        commit = f'<a href="{escape(tree)}">{commit}</a>'
    with_submodules = ", with its submodules at the commits it pins" if recipe.submodules else ""
    return f"the git repository {where} at commit {commit}{with_submodules}"


def _pypi(project: str) -> str:
    return f"{PYPI_PROJECT}{quote(project)}/"


_URL = re.compile(r"https?://[^\s<>\[\]]+")


def _linked(text: str) -> str:
    """``text`` escaped, its http(s) URLs made links (patch statuses, source URLs)."""
    out, position = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;)")
        out.append(escape(text[position : match.start()]))
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return "".join(out)


def _compiler_text(compiler: str) -> str:
    """The record's compiler path, for people: which compilers built the riscv64 code."""
    if compiler == "emulated":
        return "the emulated riscv64 compilers"
    if compiler.startswith("host-native cross "):  # "host-native cross (amd64 companion KEY)"
        detail = compiler.removeprefix("host-native cross ")
        return f"host-native riscv64 cross compilers {_escape(detail)}"
    return _escape(compiler)
