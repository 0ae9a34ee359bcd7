"""The inventory: the shipped ward list loads whole, and every bad file says exactly why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inventory import DEFAULT_INVENTORY, ConfigError, load_inventory
from inventory.load import cluster_from_former_units

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"
ROOT = Path(__file__).resolve().parent.parent


def test_shipped_inventory_has_the_168_units_of_hcmc() -> None:
    inventory = load_inventory(ROOT / "inventory" / "hcmc.yaml")
    kinds = [w.kind for w in inventory.wards.values()]
    assert len(inventory.wards) == 168
    assert (kinds.count("phường"), kinds.count("xã"), kinds.count("đặc khu")) == (113, 54, 1)
    assert inventory.wards["26968"].name == "Phường Tân Sơn Nhất"
    assert set(inventory.platforms) == {"video", "documents", "feedback1022", "procedures"}


def test_ward_details_from_yaml_merge_over_the_csv_row() -> None:
    inventory = load_inventory(ROOT / "inventory" / "hcmc.yaml")
    ward = inventory.wards["26968"]
    assert ward.province == "Thành phố Hồ Chí Minh"
    assert [link.id for link in ward.links] == ["main", "backup"]
    assert inventory.thresholds_for("26968").latency_avg_seconds == 0.120
    assert inventory.thresholds_for("26740").latency_avg_seconds == 0.100


def test_cluster_defaults_to_the_former_district() -> None:
    assert cluster_from_former_units(
        "Phường 4, Quận Tân Bình [một phần]; Phường 2, Quận Tân Bình"
    ) == "Quận Tân Bình"
    assert cluster_from_former_units("Huyện Côn Đảo") == "Huyện Côn Đảo"


def test_check_command_summarises_the_shipped_inventory() -> None:
    out = subprocess.run([sys.executable, "-m", "inventory", "check"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "168 units: 113 phường, 54 xã, 1 đặc khu" in out


def test_check_command_fails_with_the_reason_on_a_bad_file() -> None:
    bad = FIXTURES / "invalid-wrong-type.yaml"
    run = subprocess.run([sys.executable, "-m", "inventory", "check", str(bad)], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "wards.10001.links[0].download_mbps: expected a number, got 'fast'" in run.stderr


@pytest.mark.parametrize(
    "case", sorted(p.stem for p in FIXTURES.glob("invalid-*.yaml")),
)
def test_invalid_inventory_is_rejected_with_the_exact_message(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages name the file as given, so load it by its relative name.
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ConfigError) as raised:
        load_inventory(Path(f"{case}.yaml"))
    assert str(raised.value) == (FIXTURES / f"{case}.err").read_text().strip()


def test_the_base_of_the_invalid_cases_is_itself_valid() -> None:
    assert list(load_inventory(FIXTURES / "base.yaml").wards) == ["10001"]


def test_unquoted_ward_codes_are_read_as_codes(tmp_path: Path) -> None:
    text = (FIXTURES / "base.yaml").read_text().replace('"10001":', "10001:")
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    assert list(load_inventory(path).wards) == ["10001"]


def test_every_cluster_of_the_shipped_inventory_has_its_team_and_a_noc_hears_all() -> None:
    inventory = load_inventory(DEFAULT_INVENTORY)
    assert [team_id for team_id, team in inventory.teams.items() if team.everything] == ["noc"]
    for code in inventory.wards:
        found = inventory.team_for(code)
        assert found is not None, code
        team_id, team = found
        assert inventory.wards[code].cluster in team.clusters
        assert team.emails and team.telegram_chat_id is not None, team_id
