"""A warm ``moviemind`` for the documents' commands: one interpreter imports the package once,
then forks a child for each command.

A ``moviemind`` run from a fresh interpreter spends most of a short command
importing (about 0.4 s on an idle 2-core machine); the README runs some sixty
of them. The harness puts a small ``moviemind`` on the shell's ``PATH``
(:func:`install_client`) that hands its arguments, environment, working folder
and its standard input, output and error (the descriptors themselves) to this
server, which forks: the child takes them over and runs the command as
``python -m moviemind_lite`` would, and the client exits with the child's exit
status. What the reader's terminal would see is unchanged: the same
descriptors, environment, folder and exit code, a fresh process per command.

Long-running commands (``serve``, ``worker`` without ``--once``, the terminal
UI) are ``exec``-ed as the real ``moviemind``, so that ``kill $!`` and
``jobs -p`` reach them exactly as in the reader's shell.

Run as ``python -m tests.docs.warm SOCKET``; it prints ``READY`` once it listens.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import pkgutil
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 120

# Not imported ahead: modules that read the environment when imported (the HTTP
# server's metrics), that only long-running commands use, and the entry point itself.
NOT_WARMED = (
    "moviemind_lite.http",
    "moviemind_lite.tui",
    "moviemind_lite.cli.serve",
    "moviemind_lite.__main__",
)
# Commands exec-ed as the real ``moviemind`` (see the module docstring).
LONG_RUNNING = ("serve", "worker", "tui")

CLIENT = """#!{python} -IS
# The documents' ``moviemind``: hands the command to the warm server (tests/docs/warm.py).
import json, os, socket, struct, sys
args = sys.argv[1:]
words = set(args)
once = words >= {{"worker", "--once"}} and "serve" not in words
if not args or (words & {long_running} and not once):
    os.execv({real!r}, [{real!r}, *args])
message = json.dumps({{"args": args, "cwd": os.getcwd(), "env": dict(os.environ)}}).encode()
with socket.socket(socket.AF_UNIX) as conn:
    conn.connect({socket_path!r})
    socket.send_fds(conn, [struct.pack("!I", len(message)) + message], [0, 1, 2])
    status = b""
    while len(status) < 4:
        more = conn.recv(4 - len(status))
        if not more:
            sys.exit("moviemind (warm): the command ended without an exit status")
        status += more
sys.exit(struct.unpack("!i", status)[0])
"""


def install_client(folder: Path, socket_path: str) -> Path:
    """Write the client as ``folder/moviemind``; ``folder`` goes first on the shell's PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    client = folder / "moviemind"
    client.write_text(
        CLIENT.format(
            python=sys.executable,
            real=str(Path(sys.executable).parent / "moviemind"),
            socket_path=socket_path,
            long_running=set(LONG_RUNNING),
        ),
        encoding="utf-8",
    )
    client.chmod(0o755)
    return client


@contextlib.contextmanager
def warm_moviemind(env: dict[str, str]) -> Iterator[Path]:
    """Start the server; yield the folder holding the client (first on the shell's PATH);
    end the server and every command it forked."""
    folder = Path(tempfile.mkdtemp(prefix="moviemind-warm."))
    socket_path = str(folder / "socket")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.docs.warm", socket_path],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # Wait for its own READY line (everything imported, the socket listening).
        assert process.stdout is not None
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(START_DEADLINE_S)
        if first != ["READY\n"]:
            raise RuntimeError(f"the warm moviemind did not start: {first}")
        yield install_client(folder / "bin", socket_path).parent
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def warm_up() -> None:
    """Import what the commands import, once."""
    import moviemind_lite

    for module in pkgutil.walk_packages(moviemind_lite.__path__, "moviemind_lite."):
        if not module.name.startswith(NOT_WARMED):
            importlib.import_module(module.name)
    for name in ("rich.console", "rich.table", "rich.text", "rich.markup", "rich.progress"):
        importlib.import_module(name)


def receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    """One command's message and its three descriptors."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
        more = conn.recv(1 << 16)
        if not more:
            raise ConnectionError("the client left mid-message")
        data += more
    return json.loads(data[4:]), fds


def run_child(conn: socket.socket, request: dict[str, object], fds: list[int]) -> None:
    """In the forked child: become the command, run it, report its exit status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update(request["env"])  # type: ignore[arg-type]
    args = [str(arg) for arg in request["args"]]  # type: ignore[attr-defined]
    sys.argv = ["moviemind", *args]
    status = [1]

    def report() -> None:
        # Runs as the process exits, once its threads have ended (the last atexit handler
        # registered runs first): the other handlers run, what was printed is flushed, the
        # status is sent, and the process ends without tearing down the warm interpreter's
        # modules (seconds of work that prints nothing, the client's pipes held open).
        atexit.unregister(report)
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(struct.pack("!i", status[0]))
        os._exit(status[0])

    atexit.register(report)
    from moviemind_lite.cli import main

    try:
        main()
        status[0] = 0
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            status[0] = code or 0
        else:
            print(code, file=sys.stderr)
            status[0] = 1
        raise


def serve(path: str) -> None:
    """Listen on ``path`` and fork a child per command, for ever (the harness ends it)."""
    warm_up()
    # A fork copies only the thread that calls it: nothing may run beside it.
    assert threading.active_count() == 1, threading.enumerate()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(16)
        print("READY", flush=True)
        while True:
            conn, _ = server.accept()
            try:
                request, fds = receive(conn)
            except (ConnectionError, ValueError):
                conn.close()
                continue
            if os.fork() == 0:
                server.close()
                run_child(conn, request, fds)
                sys.exit(0)  # not reached: main() always exits
            conn.close()
            for fd in fds:
                os.close(fd)


if __name__ == "__main__":
    serve(sys.argv[1])
