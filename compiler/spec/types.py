"""Constrained value types shared by the model spec and the platform config.

Each type checks with a full-string match and fails with a message that says what was expected.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """Base of every spec section: unknown fields are errors, types are not coerced, values are frozen."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
    )


DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?")
_DURATION = re.compile(r"(?=[0-9])([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?")
_IMAGE = re.compile(
    r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?"
)
DIGEST = re.compile(r".+@sha256:[a-f0-9]{64}")
_URI = re.compile(r"[a-z][a-z0-9+.-]*://[^\s]+")
_HTTPS_URL = re.compile(r"https?://[^\s/]+(/[^\s]*)?")
_REPO_URL = re.compile(r"(https?|ssh|file)://[^\s]+")
_GITHUB_HANDLE = re.compile(r"@[A-Za-z0-9]([A-Za-z0-9-]{0,38})(/[A-Za-z0-9][A-Za-z0-9_.-]*)?")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
# A module's parts become folder and file names (<part>.py): each is bounded well below a file name's 255 bytes.
MODULE_PART_MAX = 100
_NAME = rf"[A-Za-z_][A-Za-z0-9_]{{0,{MODULE_PART_MAX - 1}}}"
MODULE = re.compile(rf"{_NAME}(\.{_NAME})*")
_ENTRYPOINT = re.compile(rf"{MODULE.pattern}:{_NAME}")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_NAMES = {
    3: {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())},
    4: {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())},
}


def _matcher(pattern: re.Pattern[str], code: str, expected: str, max_len: int | None = None):
    def check(value: str) -> str:
        if max_len is not None and len(value) > max_len:
            raise PydanticCustomError(code, "{value} is {n} characters; at most {max} are allowed",
                                      {"value": repr(value), "n": len(value), "max": max_len})
        if not pattern.fullmatch(value):
            raise PydanticCustomError(code, "{value} is not " + expected, {"value": repr(value)})
        return value

    return AfterValidator(check)


def _number_to_text(value: object) -> object:
    # `cpu: 2` and `cpu: 0.5` are lossless as numbers; Kubernetes accepts both forms too.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


DnsLabel = Annotated[
    str,
    _matcher(DNS_LABEL, "dns_label", "a DNS-1123 label (lower-case letters, digits and '-', "
             "starting and ending with a letter or digit)", 63),
]
LabelValue = Annotated[str, _matcher(_LABEL_VALUE, "label_value", "a valid Kubernetes label value", 63)]
LabelKey = Annotated[str, _matcher(_LABEL_KEY, "label_key", "a valid Kubernetes label key", 253)]
Quantity = Annotated[
    str,
    BeforeValidator(_number_to_text),
    _matcher(_QUANTITY, "quantity", "a Kubernetes quantity such as 500m, 2, 4Gi or 512Mi"),
]
Duration = Annotated[str, _matcher(_DURATION, "duration", "a duration such as 90s, 30m, 4h or 1h30m")]
ImageRef = Annotated[
    str,
    _matcher(_IMAGE, "image", "an image reference such as registry.example.com/team/image:tag "
             "or ...@sha256:<64 hex digits>", 512),
]
DataUri = Annotated[str, _matcher(_URI, "uri", "a URI such as s3://bucket/path or sklearn://breast_cancer", 1024)]
HttpUrl = Annotated[str, _matcher(_HTTPS_URL, "url", "an http(s) URL", 1024)]
RepoUrl = Annotated[str, _matcher(_REPO_URL, "repo_url", "a git URL such as https://github.com/acme/mlplat.git "
                                  "(also ssh:// or file://)", 1024)]
GithubHandle = Annotated[
    str, _matcher(_GITHUB_HANDLE, "github_handle", "a GitHub user or team handle such as @alice or @acme/payments")
]
Identifier = Annotated[
    str, _matcher(_IDENTIFIER, "identifier", "a lower-case identifier such as roc_auc (letters, digits, '_')", 63)
]
Entrypoint = Annotated[str, _matcher(_ENTRYPOINT, "entrypoint", "a Python entry point such as package.module:function "
                                     f"(each name at most {MODULE_PART_MAX} characters)", 512)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Sha256 = Annotated[str, _matcher(re.compile(r"[a-f0-9]{64}"), "sha256", "a SHA-256 digest (64 lower-case hex digits)")]
RunId = Annotated[str, _matcher(re.compile(r"[a-f0-9]{32}"), "run_id", "an MLflow run id (32 lower-case hex digits)")]


@functools.lru_cache(maxsize=4096)  # a thousand specs repeat a few schedules; a refusal raises, never cached
def _check_cron(value: str) -> str:
    if value in _CRON_MACROS:
        return value
    fields = value.split()
    if len(fields) != 5:
        raise PydanticCustomError("cron", "{value} has {n} fields; a cron schedule has 5 "
                                  "(minute hour day-of-month month day-of-week) or is a macro such as @daily",
                                  {"value": repr(value), "n": len(fields)})
    for index, (field, (what, low, high)) in enumerate(zip(fields, _CRON_FIELDS, strict=True)):
        for part in field.split(","):
            base, _, step = part.partition("/")
            if step and not (step.isdigit() and int(step) > 0):
                raise PydanticCustomError("cron", "{value}: bad step {step} in the {what} field",
                                          {"value": repr(value), "step": repr(step), "what": what})
            if base == "*":
                continue
            for bound in base.split("-", 1):
                number = _CRON_NAMES.get(index, {}).get(bound.upper(), int(bound) if bound.isdigit() else None)
                if number is None or not low <= number <= high:
                    raise PydanticCustomError(
                        "cron", "{value}: {bound} is not valid in the {what} field ({low}-{high})",
                        {"value": repr(value), "bound": repr(bound), "what": what, "low": low, "high": high})
    return value


Cron = Annotated[str, AfterValidator(_check_cron)]


def quantity_value(value: str) -> float:
    """A Kubernetes quantity as a plain number (CPU cores or bytes)."""
    suffixes = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", value)
    if not match:
        raise ValueError(f"not a quantity: {value!r}")
    number, suffix = match.groups()
    return float(number) * suffixes.get(suffix, 1)


def is_digest_pinned(image: str) -> bool:
    return DIGEST.fullmatch(image) is not None
