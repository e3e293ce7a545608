"""The argparse tree: every argument, flag and subcommand explains itself, and every command
that calls the API takes --json."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from promptops.cli.main import build_parser
from tests.cli.test_commands import run

NOT_HERE: set[str] = set()  # paths the help walk skips: none


def _parsers(
    parser: argparse.ArgumentParser, path: str = "promptops"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    if path in NOT_HERE:
        return
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def _undocumented(path: str, parser: argparse.ArgumentParser) -> list[str]:
    missing = []
    for action in parser._actions:
        name = "/".join(action.option_strings) or action.metavar or action.dest
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{path}: {name}")
        if isinstance(action, argparse._SubParsersAction):
            missing += [
                f"{path} {choice.dest}"
                for choice in action._choices_actions
                if not choice.help and f"{path} {choice.dest}" not in NOT_HERE
            ]
    return missing


def test_every_argument_flag_and_subcommand_has_help() -> None:
    missing = [m for path, p in _parsers(build_parser()) for m in _undocumented(path, p)]
    assert not missing, "no help text for:\n" + "\n".join(missing)


def test_the_walk_sees_the_whole_tree() -> None:
    paths = {path for path, _ in _parsers(build_parser())}
    assert {"promptops promote", "promptops webhooks deliveries", "promptops diff"} <= paths
    assert "promptops serve" in paths and len(paths) > 25


def test_every_api_command_takes_json() -> None:
    api_commands = [
        (path, p) for path, p in _parsers(build_parser()) if p.get_default("handler") is not None
    ]
    assert len(api_commands) >= 20
    without = [
        path
        for path, p in api_commands
        if not any("--json" in action.option_strings for action in p._actions)
    ]
    assert not without, without


class _NotJson(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>a web page</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_a_server_that_is_not_promptops_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    httpd = HTTPServer(("127.0.0.1", 0), _NotJson)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        code, out, err = run(capsys, "versions", "show", "x", "1", "--url", url, "--key", "k")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (code, out) == (1, "")
    assert "something other than JSON; is it a PromptOps server?" in err, err
