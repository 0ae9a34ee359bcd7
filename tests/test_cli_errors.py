"""Expected failures of the command lines: one line a person can act on, never a traceback.

Each names the option or file at fault and what was expected, exits non-zero (2 for a
mistake in the command, 1 for a failure of what it reached), and speaks the language of
--lang where the command has one (Vietnamese by default).
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import agent
from alerts.deploy import main as deploy_main
from collector.__main__ import main as collector_main
from dashboards.generate import main as dashboards_main
from inventory.__main__ import main as inventory_main
from tests.lab.servers import ROOT


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    return captured.err.rstrip("\n")


@contextlib.contextmanager
def answering(status: int, body: bytes) -> Iterator[str]:
    """An HTTP server on loopback that answers every GET with ``status`` and ``body``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- collector export ---

def test_export_with_the_collector_down_is_one_line_in_vietnamese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert collector_main(["export", "--collector-url", url, "--out", str(tmp_path)]) == 1
    assert one_line(capsys) == f"export: không kết nối được collector {url}: Connection refused"
    assert list(tmp_path.iterdir()) == []


def test_export_with_the_collector_down_in_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert collector_main(["export", "--collector-url", url, "--out", str(tmp_path),
                           "--lang", "en"]) == 1
    assert one_line(capsys) == f"export: cannot reach the collector at {url}: Connection refused"


def test_export_from_a_collector_that_wants_a_login_says_how_to_give_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with answering(401, b"") as url:
        assert collector_main(["export", "--collector-url", url, "--out", str(tmp_path),
                               "--lang", "en"]) == 1
    assert one_line(capsys) == (f"export: the collector at {url} needs a login: give --user, "
                                "and the password in SANSANG_NOC_PASSWORD")


def test_export_from_something_that_is_not_a_collector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with answering(200, b"<html>router login</html>") as url:
        assert collector_main(["export", "--collector-url", url, "--out", str(tmp_path)]) == 1
    assert one_line(capsys) == (f"export: {url} không trả lời như một collector sansang "
                                "(--collector-url)")


def test_export_refuses_a_url_without_a_scheme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert collector_main(["export", "--collector-url", "127.0.0.1:8080", "--out",
                           str(tmp_path), "--lang", "en"]) == 2
    assert one_line(capsys) == ("export: --collector-url: expected http(s)://HOST[:PORT], "
                                "e.g. http://127.0.0.1:8080; got '127.0.0.1:8080'")


def test_export_makes_no_folder_beyond_the_one_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "reports"
    assert collector_main(["export", "--collector-url", "http://127.0.0.1:9", "--out",
                           str(out)]) == 2
    assert one_line(capsys) == (f"export: --out: thư mục {out.parent} không tồn tại; hãy tạo "
                                "trước hoặc chọn thư mục khác")
    assert not out.parent.exists()


def test_export_with_the_collector_down_prints_no_traceback_as_run(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "collector", "export", "--collector-url",
                          f"http://127.0.0.1:{closed_port()}", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr


# --- agent.py run and check ---

def agent_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text('ward: "26968"\ncollector_url: http://127.0.0.1:9\ntoken_file: token\n'
                    "icmp: {targets: [127.0.0.1]}\n" + extra, encoding="utf-8")
    return path


def test_check_with_a_missing_config_names_the_file_in_vietnamese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "agent.yaml"
    assert agent.main(["check", "--config", str(missing)]) == 2
    assert one_line(capsys) == (f"cấu hình agent không dùng được: {missing}: không đọc được: "
                                "No such file or directory")


def test_run_with_a_missing_config_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "agent.yaml"
    assert agent.main(["run", "--config", str(missing)]) == 2
    assert one_line(capsys) == (f"invalid agent config: {missing}: cannot read: "
                                "No such file or directory")


def test_an_invalid_config_is_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = agent_config(tmp_path, "push: {batch_size: 0}\nprobes: {ntp: {targets: [a], "
                                  "timeout_seconds: -1}}\n")
    assert agent.main(["check", "--lang", "en", "--config", str(path)]) == 2
    title, *problems = capsys.readouterr().err.splitlines()
    assert title == "invalid agent config (2 problems):"
    assert sorted(problems) == [
        f"  {path}:5: push.batch_size: expected a number ≥ 1, got 0",
        f"  {path}:6: probes: expected valid ntp options (ntp.timeout_seconds: expected a "
        "number > 0.0, got -1)",
    ]


def test_run_without_its_token_file_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert agent.main(["run", "--config", str(agent_config(tmp_path))]) == 2
    assert one_line(capsys) == (f"cannot start the agent: token_file {tmp_path / 'token'}: "
                                "cannot read: No such file or directory")


def test_check_push_without_its_token_file_names_it_in_vietnamese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert agent.main(["check", "--push", "--config", str(agent_config(tmp_path))]) == 2
    assert one_line(capsys) == (f"không khởi động được agent: token_file {tmp_path / 'token'}"
                                ": không đọc được: No such file or directory")


def test_an_invalid_config_for_check_is_told_in_vietnamese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = agent_config(tmp_path, "push: {batch_sise: 10}\n")
    path.write_text(path.read_text().replace("http://127.0.0.1:9", "collector:8080"))
    assert agent.main(["check", "--config", str(path)]) == 2
    title, *problems = capsys.readouterr().err.splitlines()
    assert title == "cấu hình agent không dùng được (2 lỗi):"
    assert sorted(problems) == [
        f"  {path}:2: collector_url: cần một URL http(s), nhận được 'collector:8080'",
        f"  {path}:5: push.batch_sise: khóa không có trong mẫu; có phải là 'batch_size'?",
    ]


def test_check_push_with_a_spool_it_cannot_open_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "spool").mkdir()
    path = agent_config(tmp_path, "spool: {path: spool}\n")
    assert agent.main(["check", "--push", "--lang", "en", "--config", str(path)]) == 2
    assert one_line(capsys) == (f"cannot start the agent: spool.path {tmp_path / 'spool'}: "
                                "cannot open: unable to open database file")


def test_run_with_a_ca_file_that_is_no_certificate_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    path = agent_config(tmp_path, "ca_file: ca.pem\n")
    assert agent.main(["run", "--config", str(path)]) == 2
    assert one_line(capsys).startswith(
        f"cannot start the agent: ca_file {tmp_path / 'ca.pem'}: not a PEM certificate")


def test_run_with_a_spool_it_cannot_open_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "spool").mkdir()
    path = agent_config(tmp_path, "spool: {path: spool}\n")
    assert agent.main(["run", "--config", str(path)]) == 2
    assert one_line(capsys) == (f"cannot start the agent: spool.path {tmp_path / 'spool'}: "
                                "cannot open: unable to open database file")


def test_check_stopped_with_ctrl_c_is_one_line_in_vietnamese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ward_agent.check

    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(ward_agent.check, "check", interrupted)
    assert agent.main(["check", "--config", str(agent_config(tmp_path))]) == 130
    assert one_line(capsys) == "đã dừng kiểm tra (Ctrl-C); chưa có kết luận"


def test_check_push_with_the_collector_down_keeps_the_reports_and_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text("t\n")
    port = closed_port()
    path = tmp_path / "agent.yaml"
    path.write_text(f'ward: "26968"\ncollector_url: http://127.0.0.1:{port}\ntoken_file: token\n'
                    "icmp: {targets: [127.0.0.1], count: 2, packet_interval_seconds: 0}\n",
                    encoding="utf-8")
    assert agent.main(["check", "--push", "--config", str(path)]) == 1
    last = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"không kết nối được collector: Cannot connect to host "
                           f"127.0.0.1:{port}")
    assert last.endswith("; đã giữ 1 báo cáo trong hàng đợi của agent (spool) để gửi sau")


# --- collector serve ---

def serve(tmp_path: Path, *args: str) -> list[str]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("{}\n")
    return ["serve", "--tokens", str(tokens), "--database", str(tmp_path / "db.sqlite3"),
            "--listen", f"127.0.0.1:{closed_port()}", *args]


def test_serve_with_a_missing_tokens_file_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = serve(tmp_path)
    argv[argv.index("--tokens") + 1] = str(tmp_path / "none.yaml")
    assert collector_main(argv) == 2
    assert one_line(capsys) == (f"cannot start the collector: {tmp_path / 'none.yaml'}: "
                                "cannot read: No such file or directory")


@pytest.mark.parametrize(("option", "line"), [
    ("--simulated-wards", "--simulated-wards {missing}: cannot read: No such file or directory"),
    ("--tls-cert", "--tls-cert {missing}: cannot read: No such file or directory"),
])
def test_serve_with_a_missing_file_names_the_option_and_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, line: str
) -> None:
    missing = tmp_path / "missing"
    extra = [option, str(missing)] + (["--tls-key", str(missing)] if option == "--tls-cert"
                                      else [])
    assert collector_main(serve(tmp_path, *extra)) == 2
    assert one_line(capsys) == "cannot start the collector: " + line.format(missing=missing)


def test_serve_with_a_certificate_that_is_not_one_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert collector_main(serve(tmp_path, "--tls-cert", str(junk), "--tls-key", str(junk))) == 2
    assert one_line(capsys).startswith(
        f"cannot start the collector: --tls-cert {junk}, --tls-key {junk}: not a PEM "
        "certificate chain and its key")


def test_serve_makes_no_database_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = serve(tmp_path)
    argv[argv.index("--database") + 1] = str(tmp_path / "missing" / "db.sqlite3")
    assert collector_main(argv) == 2
    assert one_line(capsys) == (f"cannot start the collector: --database: the folder "
                                f"{tmp_path / 'missing'} does not exist; create it first or "
                                "name another")


def test_serve_on_a_port_in_use_names_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = serve(tmp_path)
        argv[argv.index("--listen") + 1] = f"127.0.0.1:{port}"
        run = subprocess.run([sys.executable, "-m", "collector", *argv], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr == (f"cannot start the collector: --listen 127.0.0.1:{port}: "
                          "Address already in use\n")


# --- the other tools' files ---

def test_inventory_check_of_a_missing_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert inventory_main(["check", str(tmp_path / "city.yaml")]) == 1
    assert one_line(capsys) == (f"invalid inventory: {tmp_path / 'city.yaml'}: cannot read: "
                                "No such file or directory")


def test_dashboards_with_a_missing_inventory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboards_main(["--inventory", str(tmp_path / "city.yaml"), "--out",
                            str(tmp_path / "out")]) == 2
    assert one_line(capsys) == (f"invalid inventory: {tmp_path / 'city.yaml'}: cannot read: "
                                "No such file or directory")


def test_alerts_deploy_names_the_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "bot-token"
    assert deploy_main(["--bot-token-file", str(missing), "--output",
                        str(tmp_path / "am.yml")]) == 1
    assert one_line(capsys) == (f"alerts.deploy: --bot-token-file {missing}: cannot read: "
                                "No such file or directory")


@pytest.mark.parametrize("command", [
    ["agent.py", "--log-level", "chatty", "probe", "icmp", "127.0.0.1"],
    ["-m", "collector", "serve", "--tokens", "tokens.yaml", "--log-level", "chatty"],
])
def test_an_unknown_log_level_is_a_usage_error_not_a_traceback(command: list[str]) -> None:
    run = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1].endswith(
        "error: argument --log-level: invalid choice: 'CHATTY' (choose from 'DEBUG', 'INFO', "
        "'WARNING', 'ERROR')")
