"""Running a page's shell blocks for real (imported by the docs tests; not a test module).

The blocks of one page run in order in one bash process (``set -eo pipefail``), so variables
and ``cd`` carry over from block to block as they do for a reader pasting them into one
terminal. The environment is the test's: the virtualenv's ``bin`` first on ``PATH`` (so
``ledger`` and ``python`` are the project's), no ``LEDGER_*`` variables but the page's own.

What the session changes, and nothing else:

- a line that starts ``ledger serve`` or ``ledger witness serve`` runs in the background on a
  free port (``--port`` added or replaced); the session waits until it answers, and stops it at
  the end. ``127.0.0.1:8000`` in the page becomes that port;
- a ``<!-- file: NAME -->`` python block is written to ``NAME`` in the current directory at its
  place in the page.

Each block's standard output is kept apart; the ``/problems/...`` types a block's comments show
(``# {"type":"/problems/no-consent", ...``) must be exactly those its output holds, so a
command that answers an error where the page shows success (or the reverse) fails the test;
a whole JSON object a comment shows must have the members of one the block printed, and an
HTTP status line or header a comment shows (``# cache-control: ...``) must be printed as shown.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docs_blocks import SHELL, Block

BIN = Path(sys.executable).parent
SERVE = re.compile(r"^(\s*)(ledger (?:witness )?serve\b[^#]*?)\s*(#.*)?$")
HEADER = re.compile(r"^\s*# (HTTP/1\.1 \d{3} .*|[a-z-]+: [^{}\n]*)$", re.MULTILINE)  # shown headers
TOOLS = ("curl", "jq", "openssl")  # what the pages' readers are told to have
PROBLEM = re.compile(r"/problems/[a-z-]+")
API_KEY = re.compile(r"slk_[A-Za-z0-9_-]{20,}")
CERTIFICATE = re.compile(r"C\d{4}-[A-Z2-7]{10}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def joined(text: str) -> list[str]:
    """The lines of ``text``, a server command's continuation lines joined to it."""
    lines: list[str] = []
    for line in text.split("\n"):
        if lines and lines[-1].endswith("\\") and SERVE.match(lines[-1]):
            lines[-1] = lines[-1][:-1].rstrip() + " " + line.strip()
        else:
            lines.append(line)
    return lines


@dataclass
class Session:
    blocks: list[Block]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)

    @property
    def out(self) -> Path:
        return self.workdir / ".docs-session"

    def script(self) -> str:
        lines = [
            "set -eo pipefail",
            'trap \'[ -f "$DOCS_OUT/servers" ] && kill $(cat "$DOCS_OUT/servers") 2>/dev/null;'
            " true' EXIT",
            "docs_wait() {  # until the server answers, or fail if it died",
            "  for _ in $(seq 600); do",
            '    kill -0 "$1" 2>/dev/null || { echo "the server exited" >&2; return 1; }',
            '    curl -s -o /dev/null "http://127.0.0.1:$DOCS_PORT/healthz" && return 0',
            "    sleep 0.2",
            "  done; return 1",
            "}",
        ]
        for index, block in enumerate(self.blocks):
            lines.append(f'echo "--- block {index} {block.where}" >&2')
            lines.append(f'exec 1>"$DOCS_OUT/{index}.out"')
            if block.file is not None:
                lines += [f"cat > {block.file} <<'DOCS_FILE_EOF'", block.text.rstrip("\n")]
                lines.append("DOCS_FILE_EOF")
                continue
            for line in joined(block.text.replace("127.0.0.1:8000", "127.0.0.1:$DOCS_PORT")):
                served = SERVE.match(line)
                if served:
                    command = re.sub(r"\s--port\s+\S+", "", served.group(2))
                    line = (
                        f'{served.group(1)}{command} --port "$DOCS_PORT"'
                        f' >"$DOCS_OUT/{index}.server.out" 2>"$DOCS_OUT/{index}.server.err" &'
                        ' echo $! >>"$DOCS_OUT/servers"; docs_wait $!'
                    )
                lines.append(line)
        lines.append('echo "--- done" >&2')
        return "\n".join(lines) + "\n"

    def run(self, timeout: float = 300) -> dict[int, str]:
        """Run the blocks; return each block's standard output. Fails naming the block."""
        script = self.script()
        missing = [t for t in TOOLS if re.search(rf"\b{t}\b", script) and not shutil.which(t)]
        assert not missing, f"the page's commands need {', '.join(missing)}: install them"
        self.out.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
            DOCS_PORT=str(self.port),
            DOCS_OUT=str(self.out),
            **self.env,
        )
        process = subprocess.Popen(
            ["bash", "-c", script],
            cwd=self.workdir,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        finally:
            self.stop_servers()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.returncode != 0:
            started = [line for line in stderr.splitlines() if line.startswith("--- block ")]
            failed = started[-1].split()[3] if started else "?"
            raise AssertionError(f"the shell block at {failed} failed:\n{stderr[-4000:]}")
        outputs: dict[int, str] = {}
        for index in range(len(self.blocks)):
            text = (self.out / f"{index}.out").read_text(encoding="utf-8")
            served = self.out / f"{index}.server.out"
            outputs[index] = served.read_text(encoding="utf-8") if served.exists() else text
        return outputs

    def stop_servers(self) -> None:
        pids = self.out / "servers"
        if not pids.exists():
            return
        for pid in (int(p) for p in pids.read_text().split()):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)

    def normalise(self, text: str) -> str:
        """API keys and certificate numbers are random; the port is the session's."""
        text = API_KEY.sub("slk_KEY", text.replace(f":{self.port}", ":8000"))
        return CERTIFICATE.sub("C0000-CERTIFICATE", text).rstrip()


def problems_shown(block: Block) -> set[str]:
    """The problem types a shell block's comment lines show as its output."""
    comments = [line for line in block.text.splitlines() if line.lstrip().startswith("#")]
    return set(PROBLEM.findall("\n".join(comments)))


def shown_objects(block: Block) -> list[dict[str, Any]]:
    """The JSON objects a shell block's comments show as output (runs of comment lines that
    parse as one object; a shortened one, with ``...``, does not parse and is left out)."""
    found: list[dict[str, Any]] = []
    group: list[str] = []
    for line in block.text.splitlines():
        if not line.lstrip().startswith("#"):
            group = []
            continue
        text = line.lstrip()[1:].strip()
        group = [*group, text] if group and not parses(" ".join(group)) else [text]
        value = parses(" ".join(group))
        if isinstance(value, dict):
            found.append(value)
    return found


def parses(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def printed_objects(output: str) -> list[dict[str, Any]]:
    """Every JSON object printed (one per line, or pretty-printed over several)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := output.find("{", at)) != -1:
        try:
            value, end = decoder.raw_decode(output, at)
        except ValueError:
            at += 1
            continue
        found.append(value)
        at = end
    return found


def check_outputs(page_blocks: list[Block], session: Session, outputs: dict[int, str]) -> None:
    """Problem types as shown; ``<!-- output -->`` blocks equal to what was printed."""
    for index, block in enumerate(session.blocks):
        if block.lang in SHELL:
            printed = set(PROBLEM.findall(outputs[index]))
            assert printed == problems_shown(block), (
                f"{block.where}: the page shows {sorted(problems_shown(block))}, "
                f"the commands printed {sorted(printed)}:\n{outputs[index][-3000:]}"
            )
            members = [sorted(o) for o in printed_objects(outputs[index]) if isinstance(o, dict)]
            lines = {line.strip().lower() for line in outputs[index].splitlines()}
            for header in HEADER.findall(block.text):
                assert header.strip().lower() in lines, (
                    f"{block.where}: the page shows {header!r}; the commands printed:\n"
                    f"{outputs[index][-3000:]}"
                )
            for shown in shown_objects(block):
                assert sorted(shown) in members, (
                    f"{block.where}: the page shows an answer with the members {sorted(shown)}; "
                    f"none printed has them:\n{outputs[index][-3000:]}"
                )
    for before, after in itertools.pairwise(page_blocks):
        if after.is_output:
            index = session.blocks.index(before)
            assert session.normalise(after.text) == session.normalise(outputs[index]), (
                f"{after.where} is not what {before.where} prints:\n{outputs[index]}"
            )
