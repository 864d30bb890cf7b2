"""The README and docs/ against the code: every command parses, every key exists, every link resolves.

These checks read the Markdown files, never run a command for real (except the slow test,
which executes the README's Python examples on a tiny data set).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import pkgutil
import re
import shlex
from pathlib import Path

import pytest

import dsvae.cli
from dsvae.cli import build_parser, main
from dsvae.config import apply_overrides, to_dict
from dsvae.data import build_shapes
from dsvae.errors import DSVAEError
from dsvae.evaluate.judge import JudgeConfig
from dsvae.evaluate.protocol import EvalConfig
from dsvae.presets import get_preset
from dsvae.visualise.show import ShowConfig

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]

# KEY=VALUE overrides of each sub-command go to this config ("run": the dotted run config)
FLAT_CONFIGS = {"judge": JudgeConfig, "evaluate": EvalConfig, "show": ShowConfig, "report": ShowConfig}
RUN_COMMANDS = {"train", "info", "quickstart"}

# Phrases that belong to the project's own notes, not to a user's documentation.
INTERNAL = [r"\.\./shared", r"\bissues?\b", r"000_c39", "§", r"design note", r"DESIGN\.md", r"about N minutes"]

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def code_blocks(text: str, langs: tuple[str, ...]) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang in langs]


def shell_commands(text: str) -> list[list[str]]:
    """The commands of the bash blocks, as token lists (continuations joined, comments dropped)."""
    commands = []
    for body in code_blocks(text, ("bash", "sh")):
        for line in body.replace("\\\n", " ").splitlines():
            tokens = shlex.split(line, comments=True)
            current: list[str] = []
            for token in [*tokens, "&&"]:
                if token in ("&&", "||", ";", "|"):
                    if current:
                        commands.append(current)
                    current = []
                else:
                    current.append(token)
    return commands


def dsvae_args(command: list[str]) -> list[str] | None:
    """The arguments after ``dsvae`` (also ``.venv/bin/dsvae`` and ``torchrun ... -m dsvae``), else None."""
    for i, token in enumerate(command):
        if token.endswith("/dsvae") or (token == "dsvae" and (i == 0 or command[i - 1] == "-m")):
            args = command[i + 1 :]
            ends = [k for k, t in enumerate(args) if t in (">", ">>", "|", "&&", ";")]  # a redirect or a pipe
            return args[: ends[0]] if ends else args
    return None


def all_dsvae_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc in DOCS:
        for command in shell_commands(doc.read_text()):
            args = dsvae_args(command)
            if args is not None:
                found.append((doc.name, args))
    return found


def help_text(words: list[str]) -> str:
    """What ``dsvae WORDS --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*words, "--help"])
    return out.getvalue()


def check_command(args: list[str]) -> None:
    """Parse ``dsvae ARGS`` as the CLI does; check its flags against --help and its overrides against the configs."""
    parser = build_parser()
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns, extra = parser.parse_known_args(args)
    except SystemExit:
        pytest.fail(f"`dsvae {' '.join(args)}` does not parse: {err.getvalue().strip()}")
    assert not any(a.startswith("-") for a in extra), f"`dsvae {' '.join(args)}`: unknown options {extra}"
    words = [ns.command, *([ns.dataset] if ns.command == "data" else [])]
    listed = help_text(words)
    for token in args:
        if token.startswith("--"):
            flag = token.split("=", 1)[0]
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", listed), (
                f"`dsvae {' '.join(words)} --help` lists no {flag}"
            )
    overrides = [*getattr(ns, "overrides", []), *extra]
    assert all("=" in o for o in overrides), f"`dsvae {' '.join(args)}`: stray arguments {overrides}"
    if not overrides:
        return
    if ns.command in RUN_COMMANDS:
        base = get_preset("shapes" if ns.command == "quickstart" else (getattr(ns, "preset", None) or "sprites-cpu"))
    else:
        assert ns.command in FLAT_CONFIGS, f"`dsvae {ns.command}` takes no KEY=VALUE"
        base = FLAT_CONFIGS[ns.command]()
    for item in overrides:
        try:
            apply_overrides(base, [item])
        except DSVAEError as exc:
            pytest.fail(f"`dsvae {' '.join(args)}`: {item} is not a valid override: {exc}")


def test_the_docs_show_commands_of_every_kind() -> None:
    commands = all_dsvae_commands()
    readme_subs = {args[0] for doc, args in commands if doc == "README.md" and args}
    # the CLI registers one sub-command per module cmd_<name>.py
    cli_subs = {m.name[4:] for m in pkgutil.iter_modules(dsvae.cli.__path__) if m.name.startswith("cmd_")}
    assert len(cli_subs) >= 8
    assert cli_subs <= readme_subs, f"README shows no example of {cli_subs - readme_subs}"
    for sub in cli_subs:
        assert f"`dsvae {sub}" in README.read_text(), f"the README's command table misses dsvae {sub}"


@pytest.mark.parametrize(("doc", "args"), all_dsvae_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_documented_command_parses(doc: str, args: list[str]) -> None:
    check_command(args)


def test_the_checker_catches_wrong_commands() -> None:
    for bad in (["train", "--device", "cpu"], ["evaluate", "r", "--judge", "j", "train.lr=1"],
                ["train", "--out", "r", "model.dim_q=3"], ["show", "r", "n_sequences=two"], ["nosuch"]):  # fmt: skip
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            check_command(bad)


def benchmark_flags(script: Path) -> set[str]:
    return set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", script.read_text()))


def test_benchmark_commands_use_their_scripts_options() -> None:
    seen = 0
    for doc in DOCS:
        for command in shell_commands(doc.read_text()):
            if command[0] != "python" or not command[1].startswith("benchmarks/"):
                continue
            script = ROOT / command[1]
            assert script.is_file(), f"{doc.name}: no {command[1]}"
            flags = benchmark_flags(script)
            for token in command[2:]:
                if token.startswith("--"):
                    assert token.split("=", 1)[0] in flags, f"{doc.name}: {command[1]} has no option {token}"
                elif "=" in token:
                    preset = command[command.index("--preset") + 1] if "--preset" in command else "sprites-cpu"
                    apply_overrides(get_preset(preset), [token])
            seen += 1
    assert seen >= 3


def run_keys() -> set[str]:
    def walk(d: dict, prefix: str) -> set[str]:
        keys = set()
        for k, v in d.items():
            keys |= walk(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}"}
        return keys

    return walk(to_dict(get_preset("sprites-cpu")), "")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_overrides_in_prose_name_real_fields(doc: Path) -> None:
    text = FENCE.sub("", doc.read_text())
    dotted = re.findall(r"`((?:model|data|train)\.\w+)=[^`]*`", text)
    unknown = sorted(set(dotted) - run_keys())
    assert not unknown, f"{doc.name} names config keys that do not exist: {unknown}"
    flat_fields = {f.name for cls in FLAT_CONFIGS.values() for f in dataclasses.fields(cls)}
    flat = re.findall(r"`([a-z_]+)=[^`]*`", text)
    assert not sorted(set(flat) - flat_fields), f"{doc.name}: unknown keys {sorted(set(flat) - flat_fields)}"


@pytest.mark.parametrize(("command", "cls"), [("judge", JudgeConfig), ("evaluate", EvalConfig), ("show", ShowConfig)])
def test_readme_lists_each_commands_keys_exactly(command: str, cls: type) -> None:
    text = README.read_text()
    match = re.search(rf"^- `{command}`[^:]*:(.*?)(?=^- |^$)", text, re.S | re.M)
    assert match, f"README has no list of the keys of {command}"
    listed = set(re.findall(r"`([a-z_]+)`", match.group(1))) - {"report"}
    assert listed == {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_internal_references(doc: Path) -> None:
    text = doc.read_text()
    for pattern in INTERNAL:
        hit = re.search(pattern, text, re.I)
        assert hit is None, f"{doc.name}: internal reference {hit.group(0)!r}"


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = FENCE.sub("", doc.read_text())
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    text = FENCE.sub("", doc.read_text())
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    for target in targets:
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path) if path else doc
        assert file.exists(), f"{doc.name} links to {target}, which does not exist"
        if anchor:
            assert anchor in anchors(file), f"{doc.name} links to #{anchor}, not a heading of {file.name}"


def test_readme_links_to_the_licence_and_the_docs() -> None:
    text = README.read_text()
    for target in ("LICENSE", "docs/data.md", "docs/results.md"):
        assert f"]({target}" in text
    assert "MIT License" in (ROOT / "LICENSE").read_text()


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = code_blocks(README.read_text(), ("python",))
    assert len(blocks) >= 2
    build_shapes(tmp_path / "data" / "shapes", n_train=20, n_test=5)
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # our own documentation, run as a user would
    assert (tmp_path / "my-model" / "model.safetensors").is_file()
