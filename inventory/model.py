"""The model of a city: wards, their links and devices, the shared platforms, thresholds.

Every model forbids unknown keys, so a typo in the inventory is an error at load,
not a silently ignored setting. Credentials appear only as references: a named
set whose secret parts come from files or environment variables.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zoneinfo
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, model_validator

WardKind = Literal["phường", "xã", "đặc khu"]
PlatformId = Literal["video", "documents", "feedback1022", "procedures"]
PLATFORM_IDS: tuple[PlatformId, ...] = ("video", "documents", "feedback1022", "procedures")
DeviceRole = Literal["router", "switch", "ups", "pc", "printer", "server", "firewall", "ap"]
SnmpProfile = Literal["auto", "host", "switch", "router", "ups", "printer"]
# The profile each role is read with; a firewall or an access point is told by what it
# answers (some are routers, some bridges, some hosts).
ROLE_PROFILES: dict[str, SnmpProfile] = {
    "router": "router", "switch": "switch", "ups": "ups", "printer": "printer",
    "pc": "host", "server": "host",
}

IDENTIFIER = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def _known_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    # A folder of zones ("Asia") is an OSError, not a missing zone.
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(value, zoneinfo.available_timezones(), 1, 0.8)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"an IANA time zone name like Asia/Ho_Chi_Minh, got {value!r}{hint}") from None
    return value


# An IANA time zone name, checked against the zones installed (tzdata is a dependency).
ZoneName = Annotated[str, AfterValidator(_known_zone)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(Strict):
    """Readiness thresholds; every field may be overridden per ward."""

    latency_avg_seconds: float = Field(
        default=0.100, gt=0, description="Highest average round trip to the city core.")
    jitter_seconds: float = Field(
        default=0.030, gt=0,
        description="Highest jitter: the mean difference of consecutive round trips.")
    loss_ratio: float = Field(default=0.01, ge=0, le=1,
                              description="Highest share of echo requests lost.")
    # Loss from here on pages on a short window (a line about to fail), not a long one.
    heavy_loss_ratio: float = Field(
        default=0.2, gt=0, le=1,
        description="Loss from which an alert pages at once, on a short window.")
    bandwidth_contract_ratio: float = Field(
        default=0.8, gt=0, le=1,
        description="Lowest share of the link's contracted rate, each way.")
    platform_response_seconds: float = Field(
        default=2.0, gt=0, description="Longest a platform may take to answer.")
    tls_min_days: float = Field(
        default=14, ge=0, description="Fewest days a platform's certificate must still be valid.")
    dns_lookup_seconds: float = Field(default=0.200, gt=0,
                                      description="Longest the resolver may take to answer.")
    ups_min_charge_ratio: float = Field(default=0.5, ge=0, le=1,
                                        description="Lowest UPS battery charge.")
    ups_min_runtime_seconds: float = Field(
        default=900, ge=0, description="Shortest runtime the UPS battery may have left.")
    agent_silent_intervals: int = Field(
        default=3, ge=1,
        description="Probe intervals without a report after which the agent is silent.")
    # TLS and the document system's digital signatures fail on a wrong clock.
    clock_offset_seconds: float = Field(
        default=1.0, gt=0,
        description="Largest offset of the ward's clock from its NTP servers, either way.")
    # Below this a supply is worth replacing before it runs out: a warning on the ward
    # page, and a failure only for printers the inventory marks supplies_required.
    printer_supply_min_ratio: float = Field(
        default=0.1, ge=0, le=1,
        description="Lowest share left of a printer's toner, drum, ink or waste-box space.")


class ThresholdOverrides(Strict):
    """The same fields as Thresholds, all optional."""

    latency_avg_seconds: float | None = Field(default=None, gt=0)
    jitter_seconds: float | None = Field(default=None, gt=0)
    loss_ratio: float | None = Field(default=None, ge=0, le=1)
    heavy_loss_ratio: float | None = Field(default=None, gt=0, le=1)
    bandwidth_contract_ratio: float | None = Field(default=None, gt=0, le=1)
    platform_response_seconds: float | None = Field(default=None, gt=0)
    tls_min_days: float | None = Field(default=None, ge=0)
    dns_lookup_seconds: float | None = Field(default=None, gt=0)
    ups_min_charge_ratio: float | None = Field(default=None, ge=0, le=1)
    ups_min_runtime_seconds: float | None = Field(default=None, ge=0)
    agent_silent_intervals: int | None = Field(default=None, ge=1)
    clock_offset_seconds: float | None = Field(default=None, gt=0)
    printer_supply_min_ratio: float | None = Field(default=None, ge=0, le=1)

    def apply(self, base: Thresholds) -> Thresholds:
        return base.model_copy(update=self.model_dump(exclude_none=True))


class SeriesBudget(Strict):
    """How much one ward's agent may make the collector hold: a hostile or broken agent
    inventing targets or interfaces is refused at ingest (422) past these. The defaults
    leave room for a large ward centre (a typical one makes 60 to 400 series: its
    probes, a router, a UPS, one or two switches); at a national scale of 3,321 wards
    they bound the collector at 3.3 million series."""

    max_measurements: int = Field(default=200, ge=1, le=100_000,
                                  description="distinct (probe kind, target) pairs")
    max_series: int = Field(default=1000, ge=1, le=1_000_000,
                            description="series in /metrics from the ward's reports")
    max_interfaces_per_device: int = Field(default=128, ge=1, le=100_000)


class SeriesBudgetOverrides(Strict):
    """The same fields as SeriesBudget, all optional."""

    max_measurements: int | None = Field(default=None, ge=1, le=100_000)
    max_series: int | None = Field(default=None, ge=1, le=1_000_000)
    max_interfaces_per_device: int | None = Field(default=None, ge=1, le=100_000)

    def apply(self, base: SeriesBudget) -> SeriesBudget:
        return base.model_copy(update=self.model_dump(exclude_none=True))


class Link(Strict):
    id: str = Field(pattern=IDENTIFIER, examples=["main"],
                    description="The link's id within its ward.")
    isp: str = Field(min_length=1, max_length=100, examples=["VNPT"],
                     description="The company that provides the link.")
    download_mbps: float = Field(gt=0, examples=[100],
                                 description="Contracted download rate, in Mbit/s.")
    upload_mbps: float = Field(gt=0, examples=[100],
                               description="Contracted upload rate, in Mbit/s.")

    @property
    def download_bytes_per_second(self) -> float:
        return self.download_mbps * 1e6 / 8

    @property
    def upload_bytes_per_second(self) -> float:
        return self.upload_mbps * 1e6 / 8


class Device(Strict):
    id: str = Field(pattern=IDENTIFIER, examples=["core-router"],
                    description="The device's id within its ward.")
    role: DeviceRole = Field(
        examples=["router"],
        description="What it is: router, switch, ups, pc, printer, server, firewall or ap.")
    address: str = Field(min_length=1, max_length=255, examples=["192.168.1.1"],
                         description="Host or host:port of its SNMP agent.")
    snmp_profile: SnmpProfile = Field(
        default="auto",
        description="What to read: host, switch, router, ups or printer; auto reads what "
                    "its role says (a pc or server as a host), and tells a firewall or an "
                    "access point by what it answers.")
    critical: bool = Field(default=False,
                           description="Whether the ward is not ready while it is down.")
    credentials: str = Field(examples=["city-v3"],
                             description="Name of an entry under the inventory's credentials.")
    uplink_interface: str | None = Field(
        default=None, examples=["ge-0/0/0"],
        description="Name of the interface that must be up for the device to count as up.")
    name: str | None = Field(
        default=None, min_length=1, max_length=100, examples=["bộ định tuyến chính"],
        description="What people call it; by default its role (router: bộ định tuyến).")
    supplies_required: bool = Field(
        default=False,
        description="For a critical printer: whether a supply (toner, drum, ink, waste "
                    "box) below the limit makes the ward not ready; otherwise it is a "
                    "warning on the ward page only.")

    @property
    def profile(self) -> SnmpProfile:
        """What the agent reads: the declared profile, else the role's (a role declared
        in the inventory wins over detection), else "auto"."""
        if self.snmp_profile != "auto":
            return self.snmp_profile
        return ROLE_PROFILES.get(self.role, "auto")

    @model_validator(mode="after")
    def _supplies_on_printers(self) -> Device:
        if self.supplies_required and self.role != "printer":
            raise ValueError(f"supplies_required only on a printer (role printer), "
                             f"not on a {self.role}")
        # Supplies that count need a printer that counts: one down or never read must
        # fail the ward too, never pass it for want of a figure.
        if self.supplies_required and not self.critical:
            raise ValueError("critical: true on a printer whose supplies_required is true")
        if self.supplies_required and self.profile != "printer":
            raise ValueError(f"snmp_profile printer or auto on a printer whose "
                             f"supplies_required is true (not {self.snmp_profile}): another "
                             f"profile reads no supplies")
        return self


class Contact(Strict):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=200)


class Ward(Strict):
    code: str = Field(pattern=r"^[0-9]{5}$")
    name: str = Field(min_length=1, max_length=200)
    kind: WardKind
    province: str = Field(min_length=1, max_length=200, description="former province")
    cluster: str = Field(min_length=1, max_length=200, description="technician team area")
    # The pre-2025 units it was formed from, as people still name the place (search).
    former_units: tuple[str, ...] = ()
    address: str | None = None
    contact: Contact | None = None
    # The resolver the ward's machines use; None: whatever the agent's host uses.
    resolver: str | None = None
    # The NTP servers the ward's clock is checked against (the city's, unless its own).
    ntp_servers: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    devices: tuple[Device, ...] = ()
    thresholds: ThresholdOverrides = ThresholdOverrides()
    series_budget: SeriesBudgetOverrides = SeriesBudgetOverrides()


class WardDetails(Strict):
    """What the inventory YAML adds to, or changes in, a ward read from the CSV."""

    name: str | None = None
    kind: WardKind | None = None
    province: str | None = None
    cluster: str | None = None
    address: str | None = None
    contact: Contact | None = None
    resolver: str | None = None
    ntp_servers: tuple[str, ...] | None = None
    links: tuple[Link, ...] = ()
    devices: tuple[Device, ...] = ()
    thresholds: ThresholdOverrides = ThresholdOverrides()
    series_budget: SeriesBudgetOverrides = SeriesBudgetOverrides()


class Platform(Strict):
    url: HttpUrl
    name: str | None = None


class SnmpCredentials(Strict):
    """A named SNMP credential set. Secrets are named by file or environment variable."""

    version: Literal["2c", "3"] = Field(description="SNMP version: \"2c\" or \"3\".")
    community_file: str | None = Field(
        default=None, examples=["/etc/sansang/community"],
        description="v2c: file holding the community.")
    community_env: str | None = Field(
        default=None, examples=["SANSANG_SNMP_COMMUNITY"],
        description="v2c: environment variable holding the community.")
    user: str | None = Field(default=None, examples=["sansang"], description="v3: user name.")
    auth_protocol: Literal["sha", "sha256"] | None = Field(
        default=None, examples=["sha256"], description="v3: sha or sha256.")
    auth_key_file: str | None = Field(default=None, examples=["/etc/sansang/auth-key"],
                                      description="v3: file holding the auth key.")
    auth_key_env: str | None = Field(
        default=None, examples=["SANSANG_SNMP_AUTH_KEY"],
        description="v3: environment variable holding the auth key.")
    priv_protocol: Literal["aes", "aes256"] | None = Field(
        default=None, examples=["aes"], description="v3: aes or aes256.")
    priv_key_file: str | None = Field(default=None, examples=["/etc/sansang/priv-key"],
                                      description="v3: file holding the privacy key.")
    priv_key_env: str | None = Field(
        default=None, examples=["SANSANG_SNMP_PRIV_KEY"],
        description="v3: environment variable holding the privacy key.")

    @model_validator(mode="after")
    def _complete_for_version(self) -> SnmpCredentials:
        if self.version == "2c" and not (self.community_file or self.community_env):
            raise ValueError("version 2c needs community_file or community_env")
        if self.version == "3":
            missing = [
                name
                for name, ok in (
                    ("user", self.user),
                    ("auth_protocol", self.auth_protocol),
                    ("auth_key_file or auth_key_env", self.auth_key_file or self.auth_key_env),
                    ("priv_protocol", self.priv_protocol),
                    ("priv_key_file or priv_key_env", self.priv_key_file or self.priv_key_env),
                )
                if not ok
            ]
            if missing:
                raise ValueError(f"version 3 needs {', '.join(missing)}")
        return self


class Team(Strict):
    """Who is told about a ward's alerts: the NOC (``everything``) or the technicians of
    some clusters. Each message goes to the team's e-mail addresses, its Telegram chat and,
    with ``zalo_group``, the chat relay; in the team's ``language`` (Vietnamese by default,
    English under it for ``en``). The name and phone are what a ward page shows as "who to
    call"."""

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    emails: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=200)], ...] = ()
    # A Telegram chat id: a group's is negative (-100…); its bot token is a deploy secret.
    telegram_chat_id: int | None = None
    # The group the Zalo relay posts to; the relay is a webhook (docs/alerting.md).
    zalo_group: str | None = Field(default=None, pattern=IDENTIFIER)
    language: Literal["vi", "en"] = "vi"
    # The clusters (``sansang_ward_info``'s cluster, by default a former district) it covers.
    clusters: tuple[str, ...] = ()
    # The NOC: every alert of every ward, whatever its cluster.
    everything: bool = False

    @model_validator(mode="after")
    def _reachable_and_scoped(self) -> Team:
        if not (self.emails or self.telegram_chat_id is not None or self.zalo_group):
            raise ValueError("emails, telegram_chat_id or zalo_group (without one, no "
                             "message reaches the team)")
        if self.everything == bool(self.clusters):
            raise ValueError("clusters or everything: true (the NOC), one of the two")
        return self


class InventoryFile(Strict):
    """The YAML document as written by people."""

    city: str = Field(min_length=1)
    golive: dt.date = dt.date(2025, 7, 1)
    # Days of the readiness history and the go-live countdown are the city's own days.
    timezone: ZoneName = "Asia/Ho_Chi_Minh"
    wards_csv: str | None = Field(default=None, description="path relative to this file")
    # Hosts in the city core every agent pings for latency, jitter and loss.
    core_hosts: tuple[str, ...] = ()
    # NTP servers every ward's clock is checked against (a ward may name its own).
    ntp_servers: tuple[str, ...] = ()
    platforms: dict[PlatformId, Platform]
    thresholds: Thresholds = Thresholds()
    series_budget: SeriesBudget = SeriesBudget()
    credentials: dict[str, SnmpCredentials] = {}
    # Who receives alerts, by team id: the NOC and one team per group of clusters.
    teams: dict[Annotated[str, Field(pattern=IDENTIFIER)], Team] = {}
    wards: dict[str, WardDetails] = {}


class Inventory(Strict):
    """The loaded, merged and validated inventory the rest of sansang uses."""

    city: str
    golive: dt.date
    timezone: str
    core_hosts: tuple[str, ...]
    platforms: dict[PlatformId, Platform]
    thresholds: Thresholds
    credentials: dict[str, SnmpCredentials]
    wards: dict[str, Ward]
    series_budget: SeriesBudget = SeriesBudget()
    teams: dict[str, Team] = {}

    def team_for(self, ward_code: str) -> tuple[str, Team] | None:
        """The technician team (id, team) of the ward's cluster, if one covers it."""
        cluster = self.wards[ward_code].cluster
        return next(((team_id, team) for team_id, team in self.teams.items()
                     if cluster in team.clusters), None)

    def thresholds_for(self, ward_code: str) -> Thresholds:
        return self.wards[ward_code].thresholds.apply(self.thresholds)

    def series_budget_for(self, ward_code: str) -> SeriesBudget:
        return self.wards[ward_code].series_budget.apply(self.series_budget)
