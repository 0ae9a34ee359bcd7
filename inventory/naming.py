"""What people call the things of a ward: its platforms, links and devices by their names
and roles in the inventory, never by their ids ("procedures", "main", "core-router").

- A platform: its ``name`` in the inventory ("Hệ thống giải quyết TTHC"), else its id.
- A link: its role and ISP, "đường truyền chính (VNPT)" — the id's role word ("main":
  chính, "backup": dự phòng), else the id itself.
- A device: its ``name`` in the inventory, else its role's word ("bộ định tuyến",
  "bộ lưu điện (UPS)"), numbered when the ward has several of that role.

The collector exports these as the ``name`` labels of ``sansang_platform_info``,
``sansang_link_info`` and ``sansang_device_info``, so alerts and Grafana legends say the
same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from inventory.model import Device, Inventory, Link, Ward

Language = Literal["vi", "en"]

ROLE_WORDS: dict[str, tuple[str, str]] = {
    "router": ("bộ định tuyến", "router"),
    "switch": ("bộ chuyển mạch", "switch"),
    "ups": ("bộ lưu điện (UPS)", "UPS"),
    "pc": ("máy tính", "PC"),
    "printer": ("máy in", "printer"),
    "server": ("máy chủ", "server"),
    "firewall": ("tường lửa", "firewall"),
    "ap": ("điểm phát Wi-Fi", "Wi-Fi access point"),
}
LINK_WORDS: dict[str, tuple[str, str]] = {
    "main": ("chính", "main"), "primary": ("chính", "main"),
    "backup": ("dự phòng", "backup"), "secondary": ("dự phòng", "backup"),
}


def _pick(words: tuple[str, str], language: Language) -> str:
    return words[0] if language == "vi" else words[1]


def platform_name(inventory: Inventory, platform: str) -> str:
    entry = next((p for pid, p in inventory.platforms.items() if pid == platform), None)
    return entry.name if entry is not None and entry.name else platform


def link_name(link: Link, language: Language) -> str:
    """``chính (VNPT)``: read after "đường truyền" / "link"."""
    role = _pick(LINK_WORDS[link.id], language) if link.id in LINK_WORDS else link.id
    return f"{role} ({link.isp})"


def device_name(ward: Ward, device: Device, language: Language) -> str:
    if device.name:
        return device.name
    words = ROLE_WORDS.get(device.role, (device.role, device.role))
    same_role = [d for d in ward.devices if d.role == device.role]
    word = _pick(words, language)
    if len(same_role) > 1:
        word = f"{word} {same_role.index(device) + 1}"
    return word


def display_labels(inventory: Inventory, ward_code: str, labels: Mapping[str, str],
                   language: Language) -> dict[str, str]:
    """``labels`` of a problem with platform, link and device ids put in people's words."""
    out = dict(labels)
    if "platform" in out:
        out["platform"] = platform_name(inventory, out["platform"])
    ward = inventory.wards.get(ward_code)
    return out if ward is None else ward_labels(ward, out, language)


def ward_labels(ward: Ward, labels: Mapping[str, str], language: Language) -> dict[str, str]:
    """``labels`` with the ward's link and device ids in people's words."""
    out = dict(labels)
    if "link" in out:
        link = next((k for k in ward.links if k.id == out["link"]), None)
        if link is not None:
            out["link"] = link_name(link, language)
    if "device" in out:
        device = next((d for d in ward.devices if d.id == out["device"]), None)
        if device is not None:
            out["device"] = device_name(ward, device, language)
    return out
