"""A UPS on battery, in each vendor MIB's real recording, pages and shows its runtime.

A copy of each recording is edited to say "on battery" in its own MIB's words (the one
line of its output source); the probe's logic reads it, the collector's series go into
a promtool unit test of the generated rules, and the ward page's problem text says how
many minutes are left.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
import yaml

from alerts.rules import DEFAULT_PUBLIC_URL, DEFAULT_RUNBOOK_BASE_URL
from collector.views import problem_text, ups_runtimes
from inventory import criteria
from inventory.load import DEFAULT_INVENTORY, load_inventory
from probes import snmp
from probes import snmp_profiles as P
from probes.snmp import SnmpResult
from tests.lab.fixtures_snmp import CORPUS_DIR, NUT_CORPUS_DIR, SNMPSIM_CORPUS_DIR
from tests.lab.require import require_binary
from tests.test_snmp_probe import RecordedAgent, load_snmprec

RULES = Path(__file__).resolve().parent.parent / "alerts" / "rules" / "sansang-alerts.yml"
WARD = "25747"

# recording, its MIB, the output-source OID and the value that means "on battery": every
# UPS MIB the probe reads, each in a real recording that holds its state. The Delta card
# LibreNMS recorded (deltaups) keeps its state in UPS-MIB only; DeltaUPS-MIB's own state is
# in the Socomec walk that NUT keeps (tests/lab/snmprec/nut).
ON_BATTERY = {
    "ups-mib": (CORPUS_DIR / "abbups_abbups.snmprec", P.UPS_OUTPUT_SOURCE, 5),
    "ups-mib (Delta card)": (CORPUS_DIR / "deltaups.snmprec", P.UPS_OUTPUT_SOURCE, 5),
    "ups-mib (Riello NetMan)": (CORPUS_DIR / "riello.snmprec", P.UPS_OUTPUT_SOURCE, 5),
    "eaton-xups": (CORPUS_DIR / "eatonups.snmprec", P.XUPS_OUTPUT_SOURCE, 5),
    "eaton-xups (Eaton 9PX)": (
        SNMPSIM_CORPUS_DIR / "eaton-9PX-partial-walk.snmprec", P.XUPS_OUTPUT_SOURCE, 5),
    "mge": (CORPUS_DIR / "eaton-mgeups.snmprec", P.MGE_OUTPUT_ON_BATTERY, 1),
    "cyberpower": (CORPUS_DIR / "cyberpower.snmprec", P.CPS_OUTPUT_STATUS, 3),
    "apc-powernet": (CORPUS_DIR / "apc_surt3000xl.snmprec", P.APC_BASIC_OUTPUT_STATUS, 3),
    "xppc": (CORPUS_DIR / "netagent2.snmprec", P.XPPC_OUTPUT_STATUS, 3),
    "eppc": (CORPUS_DIR / "powerwalker.snmprec", P.EPPC_SYSTEM_STATUS, 5),
    # dupsOutputSource battery(1)
    "delta": (NUT_CORPUS_DIR / "socomec-netys-rt-delta.snmprec", P.DELTA_OUTPUT_SOURCE, 1),
}


def test_every_ups_mib_the_probe_reads_has_an_on_battery_case() -> None:
    names = {key.split(" ")[0] for key in ON_BATTERY}
    assert names == {mib.name for mib in P.UPS_MIBS}


def on_battery_reading(recording: Path, oid: str, value: int) -> SnmpResult:
    records = load_snmprec(recording)
    # The XUPS and XPPC recordings have no output source at all: the edit adds the line.
    records[oid] = value
    collected = asyncio.run(snmp.collect(RecordedAgent(records), "ups", snmp.Collected()))
    return SnmpResult(up=True, target="ups1", version="2c", **collected.fields())


@pytest.mark.parametrize("mib", sorted(ON_BATTERY))
def test_each_vendor_mib_on_battery_is_read_as_on_battery(mib: str) -> None:
    result = on_battery_reading(*ON_BATTERY[mib])
    assert result.ups is not None and result.ups.on_battery is True
    assert result.ups.mib == mib.split(" ")[0]


@pytest.mark.parametrize("mib", sorted(ON_BATTERY))
def test_each_vendor_mib_on_battery_raises_ward_ups_on_battery(mib: str, tmp_path: Path) -> None:
    promtool = require_binary("promtool")["promtool"]
    inventory = load_inventory(DEFAULT_INVENTORY)
    samples = snmp.series("ups1", on_battery_reading(*ON_BATTERY[mib]), inventory.wards[WARD])
    series = [{"series": f'sansang_ward_info{{ward="{WARD}",name="P",cluster="C"}}',
               "values": "1x10"},
              # As the collector names the device (inventory.naming) for the alert's words.
              {"series": f'sansang_device_info{{ward="{WARD}",device="ups1",role="ups",'
                         'critical="true",name="bộ lưu điện (UPS)",name_en="UPS"}',
               "values": "1x10"}]
    for name, labels, value in samples:
        rendered = ",".join(f'{k}="{v}"' for k, v in (("ward", WARD), *labels))
        series.append({"series": f"{name}{{{rendered}}}", "values": f"{value:g}x10"})
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [{
                "eval_time": "5m", "alertname": "WardUpsOnBattery",
                "exp_alerts": [{
                    "exp_labels": {"ward": WARD, "name": "P", "cluster": "C", "device": "ups1",
                                   "severity": "critical", "check": "power",
                                   "condition": "on_battery"},
                    "exp_annotations": {
                        "summary": "P: bộ lưu điện (UPS) đang chạy bằng pin (mất điện lưới)",
                        "description": "Ward P (25747, C): the UPS is running on battery "
                                       "(mains power lost). "
                                       + criteria.CHECKS_BY_NAME["power"].hint_en,
                        "runbook_url": f"{DEFAULT_RUNBOOK_BASE_URL}/WardUpsOnBattery.md",
                        "ward_url": f"{DEFAULT_PUBLIC_URL}/ward/{WARD}",
                    },
                }],
            }],
        }],
    }, allow_unicode=True), encoding="utf-8")
    completed = subprocess.run([promtool, "test", "rules", str(tmp_path / "test.yml")],
                               capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("mib", sorted(ON_BATTERY))
def test_the_ward_page_says_how_many_minutes_the_battery_has_left(mib: str) -> None:
    result = on_battery_reading(*ON_BATTERY[mib])
    inventory = load_inventory(DEFAULT_INVENTORY)
    samples = snmp.series("ups1", result, inventory.wards[WARD])
    outcome = criteria.evaluate_ward(
        samples,
        inventory.thresholds_for(WARD), 1.75e9, 180.0)["power"]
    (on_battery,) = [i for i in outcome.failing if i.condition == "on_battery"]
    runtime = result.ups.runtime_seconds if result.ups else None
    texts = {language: problem_text(on_battery, ups_runtimes(samples), language)
             for language in ("vi", "en")}
    # The recording holds no runtime: the Eaton XUPS and NetAgent cards, and the Socomec on
    # a Delta card, whose dupsBatteryEstimatedTime answered NULL when it was walked.
    if runtime is None:
        assert texts["en"] == "The ups1 is running on battery (mains power lost)"
    else:
        minutes = int(runtime // 60)
        assert texts["vi"].endswith(f"pin còn khoảng {minutes} phút")
        assert texts["en"].endswith(f"about {minutes} min of battery left")
