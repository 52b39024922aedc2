"""The image config (OCI ``application/vnd.oci.image.config.v1+json`` and Docker's
``application/vnd.docker.container.image.v1+json``): platform, run defaults, rootfs, history.

:func:`parse_image_config` validates in one pass with messages naming the field
(``image config: rootfs.diff_ids[1]: invalid digest ...``). The run defaults (``config``)
carry the OCI fields and Docker's additions (Healthcheck, OnBuild, Shell); fields this model
does not know, at the top level or in ``config`` (``container``, ``docker_version``,
``Hostname``...), are kept in ``extra`` and written back after the known ones. ``to_bytes``
writes compact JSON in Go's field order: the same config always has the same digest (its
image ID).
"""

from __future__ import annotations

from dockyard.oci import fields, jsonio, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.fields import Record
from dockyard.oci.platform import Platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

_RUN_FIELDS = (
    "User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
    "StopSignal", "ArgsEscaped", "Healthcheck", "OnBuild", "Shell",
)
_TOP_FIELDS = (
    "created", "author", "architecture", "os", "os.version", "os.features", "variant", "config",
    "rootfs", "history",
)
_HEALTH_DURATIONS = (
    ("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period"),
    ("StartInterval", "start_interval"),
)
_TIME_PATTERN: list[Any] = []


def _timestamp(value: Any, where: str) -> str:
    """An RFC 3339 time (``2024-01-02T03:04:05.123Z``), as Go's time.Time reads it; or ""."""
    text = fields.opt_str(value, where)
    if text:
        if not _TIME_PATTERN:
            import re

            _TIME_PATTERN.append(
                re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})")
            )
        if _TIME_PATTERN[0].fullmatch(text) is None:
            fields.fail(where, f"invalid RFC 3339 time {text!r}")
    return text


class Healthcheck(Record):
    """Docker's HEALTHCHECK: the test command and durations in nanoseconds."""

    __slots__ = ("interval", "retries", "start_interval", "start_period", "test", "timeout")

    test: list[str]
    interval: int
    timeout: int
    start_period: int
    start_interval: int
    retries: int

    def __init__(
        self,
        test: Iterable[str] = (),
        interval: int = 0,
        timeout: int = 0,
        start_period: int = 0,
        start_interval: int = 0,
        retries: int = 0,
    ) -> None:
        self.test = list(test)
        self.interval = interval
        self.timeout = timeout
        self.start_period = start_period
        self.start_interval = start_interval
        self.retries = retries

    @classmethod
    def from_dict(cls, value: Any, where: str) -> Healthcheck:
        doc = fields.obj(value, where)
        check = cls(test=fields.str_list(doc.get("Test"), fields.child(where, "Test")))
        for key, attr in _HEALTH_DURATIONS:
            setattr(check, attr, fields.opt_int(doc.get(key), fields.child(where, f"{key}"), minimum=0))
        check.retries = fields.opt_int(doc.get("Retries"), fields.child(where, "Retries"), minimum=0)
        return check

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.test:
            out["Test"] = list(self.test)
        for key, attr in _HEALTH_DURATIONS:
            if getattr(self, attr):
                out[key] = getattr(self, attr)
        if self.retries:
            out["Retries"] = self.retries
        return out


class RunConfig(Record):
    """The ``config`` object: defaults for containers of the image.

    ``entrypoint`` and ``cmd`` are None when absent or null; ``[]`` is kept, since Docker
    tells "reset" (``ENTRYPOINT []``) from "not set".
    """

    __slots__ = (
        "args_escaped",
        "cmd",
        "entrypoint",
        "env",
        "exposed_ports",
        "extra",
        "healthcheck",
        "labels",
        "on_build",
        "shell",
        "stop_signal",
        "user",
        "volumes",
        "working_dir",
    )

    user: str
    exposed_ports: list[str]
    env: list[str]
    entrypoint: list[str] | None
    cmd: list[str] | None
    volumes: list[str]
    working_dir: str
    labels: dict[str, str]
    stop_signal: str
    args_escaped: bool
    healthcheck: Healthcheck | None
    on_build: list[str]
    shell: list[str]
    extra: dict[str, Any]

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.__slots__)
        if unknown:
            raise TypeError(f"RunConfig: unknown fields {sorted(unknown)}")
        self.user = values.get("user", "")
        self.exposed_ports = list(values.get("exposed_ports", ()))
        self.env = list(values.get("env", ()))
        self.entrypoint = values.get("entrypoint")
        self.cmd = values.get("cmd")
        self.volumes = list(values.get("volumes", ()))
        self.working_dir = values.get("working_dir", "")
        self.labels = dict(values.get("labels", {}))
        self.stop_signal = values.get("stop_signal", "")
        self.args_escaped = values.get("args_escaped", False)
        self.healthcheck = values.get("healthcheck")
        self.on_build = list(values.get("on_build", ()))
        self.shell = list(values.get("shell", ()))
        self.extra = dict(values.get("extra", {}))

    @classmethod
    def from_dict(cls, value: Any, where: str) -> RunConfig:
        doc = fields.opt_obj(value, where)
        health = doc.get("Healthcheck")
        return cls(
            user=fields.opt_str(doc.get("User"), fields.child(where, "User")),
            exposed_ports=fields.key_set(doc.get("ExposedPorts"), fields.child(where, "ExposedPorts")),
            env=fields.str_list(doc.get("Env"), fields.child(where, "Env")),
            entrypoint=fields.opt_str_list(doc.get("Entrypoint"), fields.child(where, "Entrypoint")),
            cmd=fields.opt_str_list(doc.get("Cmd"), fields.child(where, "Cmd")),
            volumes=fields.key_set(doc.get("Volumes"), fields.child(where, "Volumes")),
            working_dir=fields.opt_str(doc.get("WorkingDir"), fields.child(where, "WorkingDir")),
            labels=fields.str_map(doc.get("Labels"), fields.child(where, "Labels")),
            stop_signal=fields.opt_str(doc.get("StopSignal"), fields.child(where, "StopSignal")),
            args_escaped=fields.opt_bool(doc.get("ArgsEscaped"), fields.child(where, "ArgsEscaped")),
            healthcheck=None if health is None else Healthcheck.from_dict(health, fields.child(where, "Healthcheck")),
            on_build=fields.str_list(doc.get("OnBuild"), fields.child(where, "OnBuild")),
            shell=fields.str_list(doc.get("Shell"), fields.child(where, "Shell")),
            extra={key: item for key, item in doc.items() if key not in _RUN_FIELDS},
        )

    def to_dict(self) -> dict[str, Any]:
        """OCI's order (User ... ArgsEscaped), then Docker's fields, then ``extra`` sorted."""
        out: dict[str, Any] = {}
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in sorted(self.exposed_ports)}
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {path: {} for path in sorted(self.volumes)}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = fields.sorted_map(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.args_escaped:
            out["ArgsEscaped"] = True
        if self.healthcheck is not None:
            out["Healthcheck"] = self.healthcheck.to_dict()
        if self.on_build:
            out["OnBuild"] = list(self.on_build)
        if self.shell:
            out["Shell"] = list(self.shell)
        out.update(fields.sorted_map(self.extra))
        return out


class History(Record):
    """One step of how the image was built; ``empty_layer`` steps added no layer."""

    __slots__ = ("author", "comment", "created", "created_by", "empty_layer")

    created: str
    created_by: str
    author: str
    comment: str
    empty_layer: bool

    def __init__(
        self, created: str = "", created_by: str = "", author: str = "", comment: str = "", empty_layer: bool = False
    ) -> None:
        self.created = created
        self.created_by = created_by
        self.author = author
        self.comment = comment
        self.empty_layer = empty_layer

    @classmethod
    def from_dict(cls, value: Any, where: str) -> History:
        doc = fields.obj(value, where)
        return cls(
            created=_timestamp(doc.get("created"), fields.child(where, "created")),
            created_by=fields.opt_str(doc.get("created_by"), fields.child(where, "created_by")),
            author=fields.opt_str(doc.get("author"), fields.child(where, "author")),
            comment=fields.opt_str(doc.get("comment"), fields.child(where, "comment")),
            empty_layer=fields.opt_bool(doc.get("empty_layer"), fields.child(where, "empty_layer")),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            ("created", self.created), ("created_by", self.created_by), ("author", self.author),
            ("comment", self.comment), ("empty_layer", self.empty_layer),
        ):
            if value:
                out[key] = value
        return out


class ImageConfig(Record):
    """The whole image config document."""

    __slots__ = (
        "architecture",
        "author",
        "config",
        "created",
        "diff_ids",
        "extra",
        "history",
        "os",
        "os_features",
        "os_version",
        "rootfs_type",
        "variant",
    )

    created: str
    author: str
    architecture: str
    os: str
    os_version: str
    os_features: list[str]
    variant: str
    config: RunConfig
    rootfs_type: str
    diff_ids: list[str]
    history: list[History]
    extra: dict[str, Any]

    def __init__(
        self,
        architecture: str,
        os: str,
        diff_ids: Iterable[str] = (),
        *,
        config: RunConfig | None = None,
        history: Iterable[History] = (),
        created: str = "",
        author: str = "",
        variant: str = "",
        os_version: str = "",
        os_features: Iterable[str] = (),
        rootfs_type: str = "layers",
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.created = created
        self.author = author
        self.architecture = architecture
        self.os = os
        self.os_version = os_version
        self.os_features = list(os_features)
        self.variant = variant
        self.config = config if config is not None else RunConfig()
        self.rootfs_type = rootfs_type
        self.diff_ids = list(diff_ids)
        self.history = list(history)
        self.extra = dict(extra or {})

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant, self.os_version, self.os_features)

    @classmethod
    def from_dict(cls, value: Any, where: str = "image config") -> ImageConfig:
        doc = fields.obj(value, where)
        for key in ("rootfs", "architecture", "os"):
            if doc.get(key) is None:
                fields.fail(fields.child(where, key), "required")
        rootfs = fields.obj(doc["rootfs"], fields.child(where, "rootfs"))
        rootfs_type = fields.string(rootfs.get("type"), fields.child(where, "rootfs.type"))
        if rootfs_type != "layers":
            fields.fail(fields.child(where, "rootfs.type"), f"must be \"layers\", not {rootfs_type!r}")
        diff_ids = rootfs.get("diff_ids") or []  # Go writes an empty list as null
        if not isinstance(diff_ids, list):
            fields.fail(fields.child(where, "rootfs.diff_ids"), "must be a list")
        history = doc.get("history")
        if history is not None and not isinstance(history, list):
            fields.fail(fields.child(where, "history"), "must be a list")
        return cls(
            architecture=fields.required_str(doc, "architecture", where),
            os=fields.required_str(doc, "os", where),
            diff_ids=[fields.digest(d, fields.child(where, f"rootfs.diff_ids[{n}]")) for n, d in enumerate(diff_ids)],
            config=RunConfig.from_dict(doc.get("config"), fields.child(where, "config")),
            history=[History.from_dict(h, fields.child(where, f"history[{n}]")) for n, h in enumerate(history or ())],
            created=_timestamp(doc.get("created"), fields.child(where, "created")),
            author=fields.opt_str(doc.get("author"), fields.child(where, "author")),
            variant=fields.opt_str(doc.get("variant"), fields.child(where, "variant")),
            os_version=fields.opt_str(doc.get("os.version"), fields.child(where, "os.version")),
            os_features=fields.str_list(doc.get("os.features"), fields.child(where, "os.features")),
            rootfs_type=rootfs_type,
            extra={key: item for key, item in doc.items() if key not in _TOP_FIELDS},
        )

    def to_dict(self) -> dict[str, Any]:
        """Go's order (created, author, platform, config, rootfs, history), then ``extra`` sorted."""
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.author:
            out["author"] = self.author
        out["architecture"] = self.architecture
        out["os"] = self.os
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        out["config"] = self.config.to_dict()
        out["rootfs"] = {"type": self.rootfs_type, "diff_ids": list(self.diff_ids)}
        if self.history:
            out["history"] = [entry.to_dict() for entry in self.history]
        out.update(fields.sorted_map(self.extra))
        return out

    def to_bytes(self) -> bytes:
        """The canonical JSON (compact): its sha256 is the image ID."""
        return jsonio.dumps(self.to_dict()).encode()

    def descriptor(self, docker: bool = False) -> Descriptor:
        """A descriptor of :meth:`to_bytes`, typed as an OCI or a Docker config."""
        media_type = mediatypes.DOCKER_CONFIG if docker else mediatypes.OCI_CONFIG
        return Descriptor.for_bytes(media_type, self.to_bytes())

    def layer_history(self) -> list[History | None]:
        """For each diff ID, the history entry that made it (None where history runs short)."""
        made = [entry for entry in self.history if not entry.empty_layer]
        return [made[n] if n < len(made) else None for n in range(len(self.diff_ids))]


def parse_image_config(data: bytes) -> ImageConfig:
    """Read and validate an image config blob."""
    return ImageConfig.from_dict(jsonio.loads(data, "image config"))
