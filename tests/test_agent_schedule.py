"""The agent's rounds: the first at once, then one per interval tick, never stacked or stopped;
a job kept to a window runs only when its cron expression says, in the ward's time zone."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from inventory.yamlfile import ConfigError
from ward_agent.config import AgentConfig, load_agent_config
from ward_agent.jobs import Job, jobs_for
from ward_agent.schedule import Schedule, interval_trigger, window_trigger

INTERVAL = 0.2
# Scheduling on a busy two-core machine.
SLACK = 0.08


class Rounds:
    """A round that notes when it started and how many ran at once."""

    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.starts: list[float] = []
        self.running = 0
        self.most_at_once = 0

    async def __call__(self) -> None:
        self.starts.append(asyncio.get_running_loop().time())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
            if self.fail:
                raise RuntimeError("round broke")
        finally:
            self.running -= 1


async def run_for(seconds: float, rounds: Rounds, jitter: float = 0.0) -> float:
    """Run ``rounds`` on the agent's schedule for ``seconds``; the loop time it started at."""
    zone = ZoneInfo("UTC")
    schedule = Schedule(zone)
    started = asyncio.get_running_loop().time()
    schedule.add("test", rounds, interval_trigger(INTERVAL, zone, jitter), at_once=True)
    schedule.start()
    await asyncio.sleep(seconds)
    await schedule.stop()
    return started


async def test_the_first_round_runs_at_once_then_one_per_interval() -> None:
    rounds = Rounds()
    started = await run_for(3.5 * INTERVAL, rounds)

    assert len(rounds.starts) == 4
    for tick, start in enumerate(rounds.starts):
        assert tick * INTERVAL <= start - started <= tick * INTERVAL + SLACK


async def test_jitter_starts_a_round_late_by_at_most_the_jitter() -> None:
    rounds = Rounds()
    jitter = INTERVAL / 4
    started = await run_for(4.5 * INTERVAL, rounds, jitter=jitter)

    assert len(rounds.starts) >= 4
    offsets = [start - started - tick * INTERVAL for tick, start in enumerate(rounds.starts)]
    assert all(0 <= offset <= jitter + SLACK for offset in offsets), offsets


def test_jitter_delays_each_round_without_moving_the_next_ones() -> None:
    # APScheduler's own IntervalTrigger would drift: each round interval + jitter after
    # the last, jittered one.
    jitter = 2.0
    trigger = interval_trigger(60, ZoneInfo("UTC"), jitter)
    start = trigger.start_date
    fire = trigger.get_next_fire_time(None, start)
    for tick in range(1, 1441):
        fire = trigger.get_next_fire_time(fire, fire)
        late = (fire - start).total_seconds() - tick * 60
        assert 0 <= late <= jitter, (tick, late)


async def test_an_overrunning_round_skips_the_ticks_it_covered() -> None:
    rounds = Rounds(seconds=2.5 * INTERVAL)
    started = await run_for(5.5 * INTERVAL, rounds)

    assert rounds.most_at_once == 1
    # Ticks 1 and 2 fall inside the first round, 4 and 5 inside the second.
    assert [round((s - started) / INTERVAL) for s in rounds.starts] == [0, 3]


async def test_a_failing_round_is_logged_and_the_next_runs_on_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = Rounds(fail=True)
    with caplog.at_level(logging.ERROR, logger="sansang.agent"):
        started = await run_for(1.5 * INTERVAL, rounds)

    assert len(rounds.starts) == 2
    assert INTERVAL <= rounds.starts[1] - started <= INTERVAL + SLACK
    assert "test round failed" in caplog.text
    assert "round broke" in caplog.text


async def test_a_probe_that_raises_is_a_failed_result_not_a_lost_round(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import dataclasses

    from probes import PROBES
    from probes.dns import DnsConfig
    from ward_agent import runner
    from ward_agent.jobs import ProbeTarget

    async def broken(target: str, config: object, deadline: float) -> object:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setitem(PROBES, "dns", dataclasses.replace(PROBES["dns"], run=broken))
    target = ProbeTarget("platform.lab", "platform.lab", DnsConfig)
    with caplog.at_level(logging.ERROR, logger="sansang.agent"):
        result = await runner.run_target("dns", target, asyncio.get_running_loop().time() + 5)
    assert result.up is False and "OverflowError" in (result.error or "")
    assert "failed unexpectedly" in caplog.text


async def test_stopping_cancels_a_running_round_and_waits_for_it(
        caplog: pytest.LogCaptureFixture) -> None:
    rounds = Rounds(seconds=10 * INTERVAL)
    with caplog.at_level(logging.WARNING):
        await run_for(INTERVAL / 2, rounds)

    assert len(rounds.starts) == 1 and rounds.running == 0
    # A round cut short by a stopping agent is no failure.
    assert "round failed" not in caplog.text and "raised an exception" not in caplog.text


# Windows: a fixed Monday, read in the ward's time zone (UTC+7, no daylight saving).
HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = dt.date(2026, 3, 2)
DAY = dt.timedelta(days=1)


def at(hour: int, minute: int = 0, day: dt.date = MONDAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), HCMC)


def test_a_job_outside_its_window_waits_for_the_window_to_open() -> None:
    evenings = window_trigger("0 20-23 * * *", HCMC)

    # 10:00, during a video conference: the next round is at 20:00, not now.
    assert evenings.get_next_fire_time(None, at(10)) == at(20)


def test_a_job_inside_its_window_runs_on_the_window_s_ticks() -> None:
    evenings = window_trigger("*/30 20-23 * * *", HCMC)

    assert evenings.get_next_fire_time(None, at(20, 10)) == at(20, 30)
    assert evenings.get_next_fire_time(at(20, 30), at(20, 30)) == at(21)
    # After the window's last tick, the next round is the next evening's first.
    assert evenings.get_next_fire_time(at(23, 30), at(23, 31)) == at(20, day=MONDAY + DAY)


def test_a_window_is_read_in_the_ward_s_time_zone() -> None:
    evenings = window_trigger("0 20 * * *", HCMC)
    noon_utc = dt.datetime.combine(MONDAY, dt.time(12), dt.UTC)

    assert evenings.get_next_fire_time(None, noon_utc) == noon_utc + dt.timedelta(hours=1)


def test_weekday_names_mean_the_days_they_name() -> None:
    weekends = window_trigger("0 9 * * sat,sun", HCMC)

    saturday = weekends.get_next_fire_time(None, at(10))
    assert saturday == at(9, day=MONDAY + 5 * DAY)
    assert saturday.strftime("%A") == "Saturday"


def test_a_window_s_round_starts_at_most_the_jitter_late() -> None:
    evenings = window_trigger("0 20 * * *", HCMC, jitter_seconds=30)

    for _ in range(50):
        fire = evenings.get_next_fire_time(None, at(10))
        assert at(20) <= fire <= at(20) + dt.timedelta(seconds=30)


async def test_a_windowed_job_does_not_run_at_once_while_an_interval_job_does(
        tmp_path: Path) -> None:
    from ward_agent.runner import AgentRunner

    (tmp_path / "token").write_text("t\n")
    # A window that opens half an hour from now at the earliest.
    closed = f"{(dt.datetime.now(HCMC).minute + 30) % 60} * * * *"
    config = AgentConfig.model_validate({
        "ward": "26968", "collector_url": "http://127.0.0.1:9",
        "token_file": str(tmp_path / "token"),
        "spool": {"path": str(tmp_path / "spool.sqlite3")},
        "icmp": {"targets": ["127.0.0.1"], "interval_seconds": 60},
        "bandwidth": {"window": closed},
    })
    runner = AgentRunner(config)
    started: list[str] = []

    async def note(job: Job) -> None:
        started.append(job.kind)

    runner.round = note  # type: ignore[method-assign]
    schedule = runner.build_schedule()
    schedule.start()
    await asyncio.sleep(INTERVAL)
    await schedule.stop()
    runner.spool.close()

    assert started == ["icmp"]


def write_config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text('ward: "26968"\n'
                    "collector_url: http://127.0.0.1:9\n"
                    "token_file: token\n" + extra)
    return path


@pytest.mark.parametrize(("extra", "problem"), [
    ("bandwidth:\n  window: 0 25 * * *\n",
     "agent.yaml:5: bandwidth.window: expected a valid cron expression, got '0 25 * * *': "
     "Error validating expression '25': the last value (25) is higher than the maximum "
     "value (23)"),
    ("bandwidth:\n  window: 0 20-23 * *\n",
     "agent.yaml:5: bandwidth.window: expected a cron expression of five fields (minute hour "
     "day month day-of-week) such as '0 20-23 * * *', got '0 20-23 * *' (4 field(s))"),
    ("bandwidth:\n  window: 0 20 * * 1-5\n",
     "agent.yaml:5: bandwidth.window: expected the day of week by name (mon-fri, sat,sun) in "
     "'0 20 * * 1-5', not by number ('1-5')"),
    ("dns:\n  names: [platform.lab]\n  window: 0 8 31 2 *\n",
     "agent.yaml:6: dns.window: expected a cron expression that matches some time; "
     "'0 8 31 2 *' never does"),
    ("bandwidth:\n  interval_seconds: 3600\n  window: 0 20 * * *\n",
     "agent.yaml:5: bandwidth: expected interval_seconds or window, not both: a window's cron "
     "expression says when each round runs"),
    ("timezone: Asia/Saigonn\n",
     "agent.yaml:4: timezone: expected an IANA time zone name like Asia/Ho_Chi_Minh, got "
     "'Asia/Saigonn' (did you mean 'Asia/Saigon'?)"),
    ("timezone: Asia\n",
     "agent.yaml:4: timezone: expected an IANA time zone name like Asia/Ho_Chi_Minh, got "
     "'Asia'"),
])
def test_a_window_or_time_zone_that_cannot_be_read_is_one_line_naming_file_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, problem: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, extra)
    with pytest.raises(ConfigError) as raised:
        load_agent_config(Path("agent.yaml"))
    assert str(raised.value) == problem


def test_a_window_and_the_ward_s_time_zone_load_into_the_job(tmp_path: Path) -> None:
    config = load_agent_config(write_config(
        tmp_path, "timezone: Asia/Ho_Chi_Minh\nbandwidth:\n  window: 0 20-23 * * mon-fri\n"))

    assert config.zone == HCMC
    assert [(job.kind, job.window) for job in jobs_for(config)] == [
        ("bandwidth", "0 20-23 * * mon-fri")]
