"""From the agent's config to probe jobs: what to probe, how, and under which report target.

Each job is one probe kind on one interval with its list of targets. Secrets
referenced by the config (SNMP communities and keys) are read when a round
starts, so a rotated secret is picked up and an unreadable one becomes a failed
result that names the file, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inventory.model import SnmpCredentials
from probes import PROBES
from probes.bandwidth import BandwidthConfig
from probes.base import ProbeConfig
from probes.dns import DnsConfig
from probes.http import HttpConfig
from probes.icmp import IcmpConfig
from probes.secret import Secret
from ward_agent.config import AgentConfig, SnmpDevice


@dataclass(frozen=True)
class ProbeTarget:
    report_target: str  # the label the collector files the result under
    probe_target: str  # what the probe is pointed at
    config: Callable[[], ProbeConfig]  # built per round, so secrets are read fresh


@dataclass(frozen=True)
class Job:
    kind: str
    interval_seconds: float
    targets: tuple[ProbeTarget, ...]
    budget_seconds: float
    window: str | None = None  # a crontab expression; when set, it replaces the interval


def _fixed(config: ProbeConfig) -> Callable[[], ProbeConfig]:
    return lambda: config


def _secret(file: str | None, env: str | None) -> Secret | None:
    if file:
        return Secret.from_file(file)
    if env:
        return Secret.from_env(env)
    return None


def snmp_fields(credentials: SnmpCredentials) -> dict[str, Any]:
    """The probe's credential fields, with the secrets read from where they are kept."""
    if credentials.version == "2c":
        return {"version": "2c",
                "community": _secret(credentials.community_file, credentials.community_env)}
    return {
        "version": "3", "user": credentials.user,
        "auth_protocol": credentials.auth_protocol,
        "auth_key": _secret(credentials.auth_key_file, credentials.auth_key_env),
        "priv_protocol": credentials.priv_protocol,
        "priv_key": _secret(credentials.priv_key_file, credentials.priv_key_env),
    }


def _snmp_target(device: SnmpDevice, timeout: float, retries: int) -> ProbeTarget:
    def build() -> ProbeConfig:
        from probes.snmp import SnmpConfig

        return SnmpConfig(**snmp_fields(device.credentials), profile=device.profile,
                           context_name=device.context_name, timeout_seconds=timeout,
                           retries=retries)

    return ProbeTarget(device.id, device.address, build)


def jobs_for(config: AgentConfig) -> list[Job]:
    jobs: list[Job] = []
    if config.icmp:
        icmp = config.icmp
        icmp_config = IcmpConfig(
            count=icmp.count, interval_seconds=icmp.packet_interval_seconds,
            timeout_seconds=icmp.timeout_seconds)
        jobs.append(Job("icmp", icmp.interval_seconds,
                        tuple(ProbeTarget(h, h, _fixed(icmp_config)) for h in icmp.targets),
                        PROBES["icmp"].budget_seconds(icmp_config), icmp.window))
    if config.http:
        http_config = HttpConfig(timeout_seconds=config.http.timeout_seconds,
                                 ca_file=config.http.ca_file)
        jobs.append(Job("http", config.http.interval_seconds,
                        tuple(ProbeTarget(p, str(u), _fixed(http_config))
                              for p, u in config.http.platforms.items()),
                        PROBES["http"].budget_seconds(http_config), config.http.window))
    if config.dns:
        dns = config.dns
        dns_config = DnsConfig(resolver=dns.resolver, port=dns.port,
                               timeout_seconds=dns.timeout_seconds)
        jobs.append(Job("dns", dns.interval_seconds,
                        tuple(ProbeTarget(n, n, _fixed(dns_config)) for n in dns.names),
                        PROBES["dns"].budget_seconds(dns_config), dns.window))
    if config.bandwidth:
        bw = config.bandwidth
        token_file, ca_file = config.token_file, config.ca_file
        timing = BandwidthConfig(duration_seconds=bw.duration_seconds, streams=bw.streams,
                                 warmup_seconds=bw.warmup_seconds)

        def bandwidth_config() -> ProbeConfig:
            return timing.model_copy(update={"token": Secret.from_file(token_file),
                                             "ca_file": ca_file})

        jobs.append(Job("bandwidth", bw.interval_seconds,
                        (ProbeTarget(bw.link, str(config.collector_url), bandwidth_config),),
                        PROBES["bandwidth"].budget_seconds(timing), bw.window))
    if config.snmp:
        snmp = config.snmp
        jobs.append(Job("snmp", snmp.interval_seconds,
                        tuple(_snmp_target(d, snmp.timeout_seconds, snmp.retries)
                              for d in snmp.devices),
                        # An SNMP probe's timeout is its whole budget, retries included.
                        PROBES["snmp"].budget_seconds(
                            ProbeConfig(timeout_seconds=snmp.timeout_seconds)),
                        snmp.window))
    for name, job in config.probes.items():
        kind = PROBES[name]
        options = kind.config_type.model_validate(job.options())
        jobs.append(Job(name, job.interval_seconds,
                        tuple(ProbeTarget(t, t, _fixed(options)) for t in job.targets),
                        kind.budget_seconds(options), job.window))
    return jobs
