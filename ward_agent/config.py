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
from inventory.yamlfile import (
    ConfigError,
    error_lines,
    read_yaml,
    validation_problems,
)
from probes.secret import Secret
from ward_agent.schedule import window_trigger


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scheduled(Strict):
    """When a job's rounds run: every ``interval_seconds`` (each kind sets its own), or
    only when its ``window``, a crontab expression in the ward's time zone, says."""

    window: str | None = Field(
        default=None, examples=["17 2,20,23 * * *"],
        description="Instead of interval_seconds, run only when this cron expression says, "
                    "in quotes, in the ward's time zone: minute, hour, day of the month, "
                    "month and day of the week by name (mon ... sun; numbered days are "
                    "refused), so \"0 20 * * mon-fri\" is 20:00 on weekdays; a job with a "
                    "window waits for it even when the agent has just started.")

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
    targets: tuple[str, ...] = Field(
        min_length=1, examples=[["core1.city.example"]],
        description="Hosts in the city core to ping for latency, jitter and loss.")
    # Every 15 s: the agent's reports are its heartbeat, and a cut line or a silent agent
    # must page within two minutes (docs/alerting.md). The collector's --report-interval
    # says the same.
    interval_seconds: float = Field(
        default=15, ge=1,
        description="Seconds between rounds; these rounds are the agent's heartbeat, and "
                    "the collector's --report-interval must say the same.")
    count: int = Field(default=10, ge=1, le=1000,
                       description="Echo requests sent to each host in one round.")
    packet_interval_seconds: float = Field(
        default=0.2, ge=0, description="Seconds between two echo requests to one host.")
    timeout_seconds: float = Field(default=1.0, gt=0,
                                   description="Seconds to wait for each echo reply.")


class HttpJob(Scheduled):
    # platform id -> URL; the platform id becomes the metric's platform label.
    platforms: dict[str, HttpUrl] = Field(
        min_length=1,
        examples=[{"video": "https://video.city.example/",
                   "documents": "https://documents.city.example/"}],
        description="The city platforms to fetch, by platform id (video, documents, "
                    "feedback1022, procedures): each must answer with success in time, "
                    "with a TLS certificate valid for long enough.")
    interval_seconds: float = Field(default=60, ge=1, description="Seconds between rounds.")
    timeout_seconds: float = Field(default=5.0, gt=0,
                                   description="Seconds one fetch may take in all.")
    ca_file: str | None = Field(
        default=None, examples=["city-ca.pem"],
        description="CA file for platforms with private certificates, relative to this "
                    "file; by default the system's CAs.")


class DnsJob(Scheduled):
    names: tuple[str, ...] = Field(
        min_length=1, examples=[["video.city.example", "documents.city.example"]],
        description="Names to look up, usually the platforms' host names.")
    resolver: str | None = Field(
        default=None, examples=["10.0.0.53"],
        description="Address of the resolver to ask; by default the one the ward's "
                    "machines use (/etc/resolv.conf).")
    port: int = Field(default=53, ge=1, le=65535, description="UDP port of the resolver.")
    interval_seconds: float = Field(default=60, ge=1, description="Seconds between rounds.")
    timeout_seconds: float = Field(default=2.0, gt=0,
                                   description="Seconds one lookup may take.")


class BandwidthJob(Scheduled):
    link: str = Field(
        default="main", pattern=IDENTIFIER,
        description="Id of the link this agent's traffic leaves by, as in the inventory; "
                    "its contract is what the measured rates are held against.")
    # Bandwidth tests load the link, so by default four times a day.
    interval_seconds: float = Field(
        default=6 * 3600, ge=60,
        description="Seconds between tests; a test saturates the link, so prefer a window "
                    "outside office hours, a minute of its own for each ward.")
    duration_seconds: float = Field(default=10, gt=0, le=120,
                                    description="Seconds each direction is measured.")
    streams: int = Field(default=4, ge=1, le=16, description="Parallel TCP streams.")
    warmup_seconds: float = Field(
        default=2, ge=0,
        description="Seconds at the start of each direction left out of the rate.")


class SnmpDevice(Strict):
    id: str = Field(pattern=IDENTIFIER, examples=["core-router"],
                    description="The device's id, as in the inventory.")
    address: str = Field(min_length=1, examples=["192.168.1.1"],
                         description="Host or host:port of its SNMP agent (port 161 by "
                                     "default).")
    profile: SnmpProfile = Field(
        default="auto",
        description="What to read: host, switch, router, ups or printer; auto tells by "
                    "what the device answers.")
    # A reference to where the secrets live on this machine, never the secrets.
    credentials: SnmpCredentials = Field(
        examples=[{"version": "2c", "community_env": "SANSANG_SNMP_COMMUNITY"}],
        description="SNMP version and where this machine keeps the secrets (a file or an "
                    "environment variable), as in the inventory's credentials.")
    context_name: str | None = Field(default=None, examples=["switch"],
                                     description="SNMP v3 context name, if the device needs "
                                                 "one.")


class SnmpJob(Scheduled):
    devices: tuple[SnmpDevice, ...] = Field(
        min_length=1, description="The ward's devices to read over SNMP.")
    interval_seconds: float = Field(default=60, ge=1, description="Seconds between rounds.")
    timeout_seconds: float = Field(default=2.0, gt=0,
                                   description="Seconds to wait for each SNMP answer.")
    retries: int = Field(default=1, ge=0, le=5,
                         description="Requests sent again after a timeout.")


class ProbeJob(Scheduled):
    """A job for a probe kind without a section of its own (under ``probes:``): what to
    probe, how often, and the kind's own probe options beside them, checked against the
    kind's config type."""

    model_config = ConfigDict(extra="allow", frozen=True)

    targets: tuple[str, ...] = Field(min_length=1, examples=[["ntp1.city.example"]],
                                     description="What to probe.")
    interval_seconds: float = Field(default=60, ge=1, description="Seconds between rounds.")

    def options(self) -> dict[str, object]:
        return dict(self.model_extra or {})


# The kinds with a section of their own in the agent config (the rest go under probes:).
OWN_SECTIONS = ("icmp", "http", "dns", "bandwidth", "snmp")


class ReadinessProfile(Strict):
    """What the one-shot check needs to judge like the collector: the ward's thresholds,
    its links' contracts and its devices. Written by provisioning from the inventory."""

    name: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["Phường Tân Sơn Nhất"],
        description="The ward's name as the pages show it, for the check's verdict line; by "
                    "default the name in the shipped ward list.")
    thresholds: Thresholds = Field(
        default=Thresholds(),
        description="The ward's readiness thresholds (the inventory's, with the ward's "
                    "own overrides).")
    links: tuple[Link, ...] = Field(default=(),
                                    description="The ward's links and their contracts.")
    devices: tuple[Device, ...] = Field(default=(), description="The ward's devices.")
    ntp_servers: tuple[str, ...] = Field(
        default=(), examples=[["ntp1.city.example"]],
        description="NTP servers the ward's clock is checked against.")
    platform_names: dict[str, str] = Field(
        default_factory=dict, examples=[{"procedures": "Hệ thống giải quyết TTHC"}],
        description="The shared platforms' names as people say them, by platform id.")


class SpoolSettings(Strict):
    path: str = Field(default="spool.sqlite3",
                      description="The spool's SQLite file, relative to this file.")
    max_bytes: int = Field(
        default=64 << 20, ge=1 << 16,
        description="Largest size of the spool, in bytes; past it the oldest reports are "
                    "dropped first, and counted.")
    max_age_seconds: float = Field(
        default=7 * 86400, ge=60,
        description="Oldest report kept while the collector cannot be reached.")


class PushSettings(Strict):
    interval_seconds: float = Field(default=5, gt=0,
                                    description="Seconds between pushes of new reports.")
    batch_size: int = Field(default=200, ge=1, le=1000,
                            description="Most reports sent in one push.")
    timeout_seconds: float = Field(default=10, gt=0,
                                   description="Seconds one push may take.")
    max_backoff_seconds: float = Field(
        default=300, gt=0,
        description="Longest wait between attempts while the collector refuses or cannot "
                    "be reached.")
    max_batches_per_second: float = Field(
        default=2.0, gt=0, le=100,
        description="How fast a backlog drains after an outage, in pushes per second.")


class AgentConfig(Strict):
    ward: str = Field(pattern=r"^[0-9]{5}$",
                      description="The ward's five-digit code in the official ward list.")
    collector_url: HttpUrl = Field(
        description="The collector this agent pushes to: http(s)://HOST[:PORT].")
    token_file: str = Field(
        description="File holding the ward's token (one line, mode 600), relative to "
                    "this file; the token itself is never written here.")
    ca_file: str | None = Field(
        default=None, examples=["collector-ca.pem"],
        description="CA that signed the collector's certificate, relative to this file; "
                    "by default the system's CAs.")
    icmp: IcmpJob | None = Field(
        default=None, description="Ping the city core: latency, jitter and loss.")
    http: HttpJob | None = Field(default=None,
                                 description="Fetch the four shared city platforms.")
    dns: DnsJob | None = Field(default=None,
                               description="Time the ward's resolver on the platforms' names.")
    bandwidth: BandwidthJob | None = Field(
        default=None,
        description="Measure download and upload rates against the collector's speed-test "
                    "endpoints.")
    snmp: SnmpJob | None = Field(
        default=None,
        description="Read the ward's devices: up, uplink interfaces, CPU, memory, UPS.")
    probes: dict[str, ProbeJob] = Field(
        default={},
        examples=[{"ntp": {"targets": ["ntp1.city.example"], "interval_seconds": 300,
                           "timeout_seconds": 2}}],
        description="Probe kinds without a section of their own, by name, with their "
                    "targets and the kind's own options beside them; ntp checks this "
                    "machine's clock against the city's NTP servers (TLS and digital "
                    "signatures fail on a wrong clock).")
    spool: SpoolSettings = Field(
        default=SpoolSettings(),
        description="Where every result is kept until the collector has acknowledged it.")
    push: PushSettings = Field(default=PushSettings(),
                               description="How results are sent to the collector.")
    readiness: ReadinessProfile = Field(
        default=ReadinessProfile(),
        description="What agent.py check judges by, as the collector would; written by "
                    "provisioning from the inventory.")
    jitter_seconds: float = Field(
        default=2.0, ge=0,
        description="Each round starts up to this many seconds late, so that agents "
                    "started together do not all probe at the same moment.")
    timezone: ZoneName = Field(
        default="Asia/Ho_Chi_Minh",
        description="The ward's IANA time zone; every window is read in it, whatever zone "
                    "the machine's clock is set to.")

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
                lines = [f"{name}.{line}" for line in error_lines(exc)]
                raise ValueError(f"valid {name} options ({'; '.join(lines)})") from None
        return jobs

    def token(self) -> Secret:
        return Secret.from_file(self.token_file)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_agent_config(path: Path | str, language: str = "en") -> AgentConfig:
    """The agent config at ``path``, or a ConfigError whose problems are told in
    ``language`` ("vi" or "en"), one per line naming file, line and field."""
    path = Path(path)
    data, lines = read_yaml(path, language)
    if isinstance(data, dict):
        # Relative paths in the file are relative to the file, not to the working directory.
        data = _resolve_paths(data, path.parent)
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(path, exc, lines, model=AgentConfig,
                                              language=language)) from None


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
