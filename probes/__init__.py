"""The one registry of probe kinds.

Each kind is a module that declares everything about itself once, as ``KIND`` (a
``probes.base.ProbeKind``): its config and result types, ``probe``, its metric
families and series, its failed result, its time budget, its table columns and its
command line. Adding a kind means one module and one line in ``PROBES`` below; the
agent, the technician's command line, the collector and the API description read it
from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from probes import bandwidth, dns, http, icmp, ntp, snmp
from probes.base import ProbeKind
from probes.series import Sample

if TYPE_CHECKING:
    from inventory.model import Ward

PROBES: dict[str, ProbeKind] = {
    kind.name: kind
    for kind in (icmp.KIND, http.KIND, dns.KIND, snmp.KIND, bandwidth.KIND, ntp.KIND)
}


def kind(name: str) -> ProbeKind:
    try:
        return PROBES[name]
    except KeyError:
        raise KeyError(f"unknown probe kind {name!r}; known: {', '.join(sorted(PROBES))}") from None


def series_for(kind_name: str, target: str, result: Any, ward: Ward) -> list[Sample]:
    """The series of one report; ``kind_name`` is a registered kind (ingest refuses others)."""
    return PROBES[kind_name].series(target, result, ward)
