"""The options several commands share, each defined once; every command module adds its own with them.

Only argparse and the standard library: each command module imports it to add its options.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model name (metadata.name)")


def environment(parser: argparse.ArgumentParser, what: str = "", *, flag: str = "--env",
                default: str | None = None) -> None:
    """The environment a command works on: required, or `default`; `what` says what is taken from it."""
    if default is None:
        parser.add_argument(flag, required=True, dest="env", help=what or "environment (platform.yaml)")
    else:
        parser.add_argument(flag, default=default, dest="env",
                            help=f"environment whose {what} to use (default: {default})")


def tracking_uri(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--tracking-uri", help=f"MLflow server (default: {default})")


LOCAL_REGISTRY = "SQLite under .mlplat/"
ENVIRONMENT_REGISTRY = "the environment's, from platform.yaml"


def version(parser: argparse.ArgumentParser, help_text: str = "registry version (default: the champion)") -> None:
    parser.add_argument("--version", help=help_text)


def report_format(parser: argparse.ArgumentParser, *others: str) -> None:
    """--format: text, or one of `others` (json, markdown)."""
    parser.add_argument("--format", choices=("text", *others), default="text")


def error_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "github"), default="text",
                        help="error output: human text, JSON, or GitHub annotation lines")


def check(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--check", action="store_true", help=help_text)


def pushgateway(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pushgateway", help="also push the results to this Prometheus Pushgateway")


def moment(text: str) -> datetime:
    """An ISO 8601 time, in UTC where it names no zone (an argparse type)."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2026-11-30T12:00:00Z") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)
