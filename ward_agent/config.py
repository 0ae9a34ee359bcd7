"""The agent's configuration file: which ward, where to push, what to probe and how often.

Validated at load like the inventory: an unknown key, a wrong type, a cron
window or time zone that cannot be read is an error naming the file, the field
and what was expected. Secrets are never in this file, only the paths of the
files that hold them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from inventory.model import (
    IDENTIFIER,
    Device,
    Link,
    SnmpCredentials,
    SnmpProfile,
    Thresholds,
    ZoneName,
)
from inventory.yamlfile import ConfigError, read_yaml, validation_problems
from probes.secret import Secret
from ward_agent.schedule import window_trigger


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scheduled(Strict):
    """When a job's rounds run: every ``interval_seconds`` (each kind sets its own), or
    only when its ``window``, a crontab expression in the ward's time zone, says."""

    window: str | None = None

    @field_validator("window")
    @classmethod
    def _readable_window(cls, value: str | None) -> str | None:
        if value is not None:
            window_trigger(value, ZoneInfo("UTC"))
        return value

    @model_validator(mode="after")
    def _window_or_interval(self) -> Self:
        if self.window is not None and "interval_seconds" in self.model_fields_set:
            raise ValueError("interval_seconds or window, not both: a window's cron "
                             "expression says when each round runs")
        return self


class IcmpJob(Scheduled):
    targets: tuple[str, ...] = Field(min_length=1)
    # Every 15 s: the agent's reports are its heartbeat, and a cut line or a silent agent
    # must page within two minutes (docs/alerting.md). The collector's --report-interval
    # says the same.
    interval_seconds: float = Field(default=15, ge=1)
    count: int = Field(default=10, ge=1, le=1000)
    packet_interval_seconds: float = Field(default=0.2, ge=0)
    timeout_seconds: float = Field(default=1.0, gt=0)


class HttpJob(Scheduled):
    # platform id -> URL; the platform id becomes the metric's platform label.
    platforms: dict[str, HttpUrl] = Field(min_length=1)
    interval_seconds: float = Field(default=60, ge=1)
    timeout_seconds: float = Field(default=5.0, gt=0)
    ca_file: str | None = None


class DnsJob(Scheduled):
    names: tuple[str, ...] = Field(min_length=1)
    # None: the resolver the ward's machines use (/etc/resolv.conf).
    resolver: str | None = None
    port: int = Field(default=53, ge=1, le=65535)
    interval_seconds: float = Field(default=60, ge=1)
    timeout_seconds: float = Field(default=2.0, gt=0)


class BandwidthJob(Scheduled):
    # The link this agent's traffic leaves by; the metric's link label.
    link: str = Field(default="main", pattern=IDENTIFIER)
    # Bandwidth tests load the link, so by default four times a day.
    interval_seconds: float = Field(default=6 * 3600, ge=60)
    duration_seconds: float = Field(default=10, gt=0, le=120)
    streams: int = Field(default=4, ge=1, le=16)
    warmup_seconds: float = Field(default=2, ge=0)


class SnmpDevice(Strict):
    id: str = Field(pattern=IDENTIFIER)
    address: str = Field(min_length=1, description="host or host:port")
    profile: SnmpProfile = "auto"
    # A reference to where the secrets live on this machine, never the secrets.
    credentials: SnmpCredentials
    context_name: str | None = None


class SnmpJob(Scheduled):
    devices: tuple[SnmpDevice, ...] = Field(min_length=1)
    interval_seconds: float = Field(default=60, ge=1)
    timeout_seconds: float = Field(default=2.0, gt=0)
    retries: int = Field(default=1, ge=0, le=5)


class ProbeJob(Scheduled):
    """A job for a probe kind without a section of its own (under ``probes:``): what to
    probe, how often, and the kind's own probe options beside them, checked against the
    kind's config type."""

    model_config = ConfigDict(extra="allow", frozen=True)

    targets: tuple[str, ...] = Field(min_length=1)
    interval_seconds: float = Field(default=60, ge=1)

    def options(self) -> dict[str, object]:
        return dict(self.model_extra or {})


# The kinds with a section of their own in the agent config (the rest go under probes:).
OWN_SECTIONS = ("icmp", "http", "dns", "bandwidth", "snmp")


class ReadinessProfile(Strict):
    """What the one-shot check needs to judge like the collector: the ward's thresholds,
    its links' contracts and its devices. Written by provisioning from the inventory."""

    thresholds: Thresholds = Thresholds()
    links: tuple[Link, ...] = ()
    devices: tuple[Device, ...] = ()
    ntp_servers: tuple[str, ...] = ()


class SpoolSettings(Strict):
    path: str = "spool.sqlite3"
    max_bytes: int = Field(default=64 << 20, ge=1 << 16)
    max_age_seconds: float = Field(default=7 * 86400, ge=60)


class PushSettings(Strict):
    interval_seconds: float = Field(default=5, gt=0)
    batch_size: int = Field(default=200, ge=1, le=1000)
    timeout_seconds: float = Field(default=10, gt=0)
    max_backoff_seconds: float = Field(default=300, gt=0)
    # How fast a backlog drains after an outage (batches per second).
    max_batches_per_second: float = Field(default=2.0, gt=0, le=100)


class AgentConfig(Strict):
    ward: str = Field(pattern=r"^[0-9]{5}$")
    collector_url: HttpUrl
    token_file: str
    ca_file: str | None = None
    icmp: IcmpJob | None = None
    http: HttpJob | None = None
    dns: DnsJob | None = None
    bandwidth: BandwidthJob | None = None
    snmp: SnmpJob | None = None
    # Every other registered kind, by name: e.g. ``ntp: {targets: [...]}``.
    probes: dict[str, ProbeJob] = {}
    spool: SpoolSettings = SpoolSettings()
    push: PushSettings = PushSettings()
    readiness: ReadinessProfile = ReadinessProfile()
    jitter_seconds: float = Field(default=2.0, ge=0)
    # The ward's time zone: every job's window is read in it.
    timezone: ZoneName = "Asia/Ho_Chi_Minh"

    @field_validator("probes")
    @classmethod
    def _registered_kinds_with_their_options(cls, jobs: dict[str, ProbeJob]
                                             ) -> dict[str, ProbeJob]:
        from probes import PROBES

        for name, job in jobs.items():
            if name in OWN_SECTIONS:
                raise ValueError(f"{name} has a section of its own: write {name}: at the top "
                                 "level, not under probes:")
            if name not in PROBES:
                raise ValueError(f"{name}: expected a probe kind "
                                 f"({', '.join(k for k in PROBES if k not in OWN_SECTIONS)})")
            try:
                PROBES[name].config_type.model_validate(job.options())
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                where = ".".join(str(part) for part in first["loc"])
                raise ValueError(f"{name}.{where}: {first['msg']}") from None
        return jobs

    def token(self) -> Secret:
        return Secret.from_file(self.token_file)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_agent_config(path: Path | str) -> AgentConfig:
    path = Path(path)
    data, lines = read_yaml(path)
    if isinstance(data, dict):
        # Relative paths in the file are relative to the file, not to the working directory.
        data = _resolve_paths(data, path.parent)
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(path, exc, lines, model=AgentConfig)) from None


def _resolve_paths(data: dict[str, object], base: Path) -> dict[str, object]:
    out = dict(data)
    for key in ("token_file", "ca_file"):
        value = out.get(key)
        if isinstance(value, str):
            out[key] = str(base / value)
    spool = out.get("spool")
    if isinstance(spool, dict) and isinstance(spool.get("path"), str):
        out["spool"] = {**spool, "path": str(base / spool["path"])}
    elif spool is None:
        out["spool"] = {"path": str(base / SpoolSettings().path)}
    return out
