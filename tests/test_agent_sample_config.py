"""The agent's sample config is written from the config model and never goes stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field, TypeAdapter
from pydantic.fields import FieldInfo

from inventory.yamlfile import unwrap_optional
from ward_agent.config import AgentConfig, load_agent_config
from ward_agent.sample_config import (
    OUTPUT,
    UndocumentedOption,
    is_model,
    main,
    model_item,
    render,
)


def test_the_checked_in_sample_is_current() -> None:
    assert main(["--check"]) == 0


def test_check_fails_and_says_how_to_fix_when_the_sample_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "agent-example.yaml"
    stale.write_text(OUTPUT.read_text(encoding="utf-8").replace("jitter_seconds: 2.0",
                                                                "jitter_seconds: 3"))
    assert main(["--check", "--out", str(stale)]) == 1
    err = capsys.readouterr().err
    assert "-# jitter_seconds: 3" in err and "+# jitter_seconds: 2.0" in err
    assert err.splitlines()[-1] == (f"{stale} is stale: run python -m ward_agent.sample_config")


def _fields(model: type[BaseModel], path: str = "") -> list[tuple[str, FieldInfo]]:
    """Every option of ``model`` and of the models inside it."""
    found = []
    for name, field in model.model_fields.items():
        found.append((f"{path}{name}", field))
        inner = unwrap_optional(field.annotation)
        nested = inner if is_model(inner) else model_item(inner)
        if nested is not None:
            found += _fields(nested, f"{path}{name}.")
    return found


def test_every_option_is_in_the_sample_with_its_sentence() -> None:
    sample = OUTPUT.read_text(encoding="utf-8")
    keys = {line.strip().removeprefix("# ").removeprefix("- ").split(":")[0]
            for line in sample.splitlines()}
    for option, field in _fields(AgentConfig):
        assert field.description, f"{option} has no description"
        assert option.rsplit(".", 1)[-1] in keys, option
    assert "# Echo requests sent to each host in one round.\n  # count: 10\n" in sample


def test_the_sample_loads_as_the_agent_config_it_shows() -> None:
    config = load_agent_config(OUTPUT)
    assert config.ward == "26968"
    assert config.icmp is not None and config.icmp.interval_seconds == 15
    assert config.bandwidth is not None and config.bandwidth.window == "17 2,20,23 * * *"
    assert config.push == AgentConfig.model_fields["push"].default


def test_every_example_the_sample_shows_is_a_valid_value() -> None:
    for _option, field in _fields(AgentConfig):
        for example in field.examples or []:
            TypeAdapter(field.annotation).validate_python(example)


def test_an_option_without_a_sentence_stops_the_generator() -> None:
    class Documented(BaseModel):
        interval_seconds: float = Field(default=60, description="Seconds between rounds.")
        retries: int = 1

    with pytest.raises(UndocumentedOption, match=r"Documented\.retries"):
        render(Documented, {})


def test_a_required_option_without_an_example_stops_the_generator() -> None:
    class Required(BaseModel):
        targets: list[str] = Field(description="What to probe.")

    with pytest.raises(UndocumentedOption, match="targets: no default and no example"):
        render(Required, {})
