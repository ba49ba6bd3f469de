"""No code path turns user data into code or objects, and the server config is locked down.

An ``ast`` scan of every Python file under ``engine/`` and ``app/`` (whoever wrote it) fails
on: ``eval`` / ``exec`` / ``compile`` / ``__import__`` / ``breakpoint``; importing ``pickle``,
``cPickle``, ``dill``, ``cloudpickle``, ``marshal``, ``shelve``, ``joblib`` or ``subprocess``;
``os.system`` / ``os.popen`` / ``os.exec*`` / ``os.spawn*``; any call passing
``allow_pickle=True``; ``shell=True``; ``yaml.load``, ``pandas.read_pickle``, ``torch.load``;
``importlib.import_module`` of a name that does not start with a fixed package prefix; and
HTML rendered unescaped (``unsafe_allow_html=True``, ``st.html``, ``components.html``) —
except ``st.html`` of one plain string literal (the page's fixed style rule, written in the
source: no user text can reach it).
URL values and pasted code are read with ``ast.literal_eval`` / ``ast.parse`` only.
"""

from __future__ import annotations

import ast
from pathlib import Path

try:  # Python ≥ 3.11
    import tomllib
except ImportError:  # Python 3.10: the backport Streamlit installs there
    import tomli as tomllib

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for d in ("engine", "app") for p in (ROOT / d).rglob("*.py")
                 if "__pycache__" not in p.parts)

BANNED_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint", "input"}
BANNED_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
                  "joblib", "subprocess", "pty", "commands"}
BANNED_ATTRS = {("os", "system"), ("os", "popen"), ("yaml", "load"), ("pd", "read_pickle"),
                ("pandas", "read_pickle"), ("torch", "load"), ("st", "html"),
                ("components", "html"), ("np", "fromfile")}
BANNED_ATTR_PREFIXES = {("os", "exec"), ("os", "spawn"), ("os", "posix_spawn")}
IMPORT_PREFIXES = ("app.", "engine.", "numba.")


def _dotted(node) -> tuple:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def _constant_prefix(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return None


def _literal_only(call: ast.Call) -> bool:
    """A call whose only argument is a plain string literal (no f-string, no name)."""
    return (len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str))


def problems(source: str, filename: str) -> list:
    tree = ast.parse(source, filename)
    found = []

    def bad(node, what):
        found.append(f"{filename}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in BANNED_MODULES:
                    bad(node, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in BANNED_MODULES:
                bad(node, f"from {node.module} import …")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in BANNED_CALLS:
                bad(node, f"{func.id}()")
            name = _dotted(func)
            if len(name) >= 2:
                tail = name[-2:]
                if tail == ("st", "html") and _literal_only(node):
                    continue
                if tail in BANNED_ATTRS or any(tail[0] == m and tail[1].startswith(p)
                                               for m, p in BANNED_ATTR_PREFIXES):
                    bad(node, ".".join(name) + "()")
                if tail == ("importlib", "import_module") or name[-1] == "import_module":
                    prefix = _constant_prefix(node.args[0]) if node.args else None
                    if prefix is None or not prefix.startswith(IMPORT_PREFIXES):
                        bad(node, "import_module() of a name without a fixed package prefix")
            for kw in node.keywords:
                truthy = isinstance(kw.value, ast.Constant) and bool(kw.value.value)
                if kw.arg in ("allow_pickle", "shell", "unsafe_allow_html") and truthy:
                    bad(node, f"{kw.arg}=True")
                if kw.arg in ("allow_pickle", "shell", "unsafe_allow_html") and not isinstance(
                        kw.value, ast.Constant):
                    bad(node, f"{kw.arg}= a non-constant value")
    return found


def test_sources_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in SOURCES}
    assert {"engine/io.py", "app/main.py", "app/state.py"} <= names
    assert len(SOURCES) >= 20


@pytest.mark.parametrize("path", SOURCES, ids=[p.relative_to(ROOT).as_posix() for p in SOURCES])
def test_no_code_execution_or_unpickling(path):
    assert problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) == []


@pytest.mark.parametrize("snippet", [
    "eval(x)", "exec('1')", "compile(s, 'f', 'exec')", "__import__('os')", "import pickle",
    "from pickle import loads", "import subprocess", "os.system('ls')", "os.popen('ls')",
    "np.load(f, allow_pickle=True)", "run(cmd, shell=True)", "st.markdown(s, unsafe_allow_html=True)",
    "yaml.load(s)", "pd.read_pickle(p)", "importlib.import_module(name)", "os.execvp('x', [])",
    "import dill", "st.html(s)", "np.load(f, allow_pickle=flag)", "st.html(f'<b>{s}</b>')",
    "st.html('<style>' + s + '</style>')", "st.html('<p>', unsafe_allow_javascript=True)",
])
def test_the_scanner_catches(snippet):
    assert problems(snippet, "snippet.py"), snippet


@pytest.mark.parametrize("snippet", [
    "ast.literal_eval(s)", "np.load(f, allow_pickle=False)", "re.compile('x')",
    "importlib.import_module(f'app.pages.{view}')", "model.compile(loss='mse')",
    "st.markdown(s)", "np.save(b, a, allow_pickle=False)", "st.html('<style>p {}</style>')",
])
def test_the_scanner_allows(snippet):
    assert problems(snippet, "snippet.py") == []


# --------------------------------------------------------------------------- server config

def _config() -> dict:
    with open(ROOT / ".streamlit" / "config.toml", "rb") as fh:
        return tomllib.load(fh)


def test_streamlit_config_is_locked_down():
    from engine import io as eio

    cfg = _config()
    server, client = cfg["server"], cfg["client"]
    assert server["maxUploadSize"] * 1024 * 1024 == eio.MAX_BYTES
    assert server["maxMessageSize"] <= 50
    assert server["enableXsrfProtection"] is True and server.get("enableCORS", True) is True
    assert server.get("enableStaticServing", False) is False
    assert server.get("enableAgentApi", False) is False
    assert server["runOnSave"] is False and server["fileWatcherType"] == "none"
    assert server["headless"] is True
    assert str(server["maxCacheDataSize"]).lower().endswith(("gb", "mb"))
    assert client["showErrorDetails"] == "none"  # False would mean "stacktrace"
    assert client["toolbarMode"] == "minimal"
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["runner"]["magicEnabled"] is False


def test_streamlit_reads_the_config(monkeypatch):
    """The keys exist in this Streamlit version (a typo would be silently ignored)."""
    from streamlit import config

    cfg = _config()
    monkeypatch.chdir(ROOT)  # Streamlit reads ./.streamlit/config.toml
    options = config.get_config_options(force_reparse=True)
    for section, values in cfg.items():
        for key, value in values.items():
            name = f"{section}.{key}"
            if name not in options:  # newer than this Streamlit: ignored with a warning
                assert name in NEWER_OPTIONS, f"unknown option {name} (a typo?)"
                continue
            assert config.get_option(name) == value, name


NEWER_OPTIONS = {"server.maxCacheDataSize", "server.enableAgentApi"}  # Streamlit ≥ 1.66/1.67
