"""Every piece of text the pages show, in Vietnamese (the default) and English.

Templates never hold words of their own: they ask ``t(key)``. A test walks the
templates to prove it, and checks that each key used has both languages.
"""

from __future__ import annotations

from typing import Literal

from inventory.criteria import CHECKS

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
DEFAULT_LANGUAGE: Language = "vi"

MESSAGES: dict[str, tuple[str, str]] = {
    # One name per check, the criteria table's, on every page, line, export and alert.
    **{f"check.{check.name}": (check.title_vi, check.title_en) for check in CHECKS},
    "app.title": ("sansang — sẵn sàng kết nối", "sansang — readiness"),
    "app.tagline": ("Mức sẵn sàng hạ tầng mạng và CNTT của các phường, xã, đặc khu",
                    "Network and IT readiness of the ward and commune centres"),
    "nav.board": ("Bảng tổng hợp", "City board"),
    "nav.dispatch": ("Danh sách điều phối", "Dispatch list"),
    "nav.language": ("English", "Tiếng Việt"),
    "board.ready": ("Sẵn sàng", "Ready"),
    "board.not_ready": ("Chưa sẵn sàng", "Not ready"),
    "board.silent": ("Mất liên lạc", "Silent"),
    "board.not_installed": ("Chưa lắp thiết bị đo", "No agent yet"),
    "board.silent_for": ("Mất liên lạc {d}", "Silent for {d}"),
    "board.simulated": ("Mô phỏng", "Simulated"),
    "board.total": ("Tổng số đơn vị", "Units"),
    "board.countdown": ("Còn {days} ngày đến ngày vận hành {date}",
                        "{days} days to go-live on {date}"),
    "board.since_golive": ("Đã vận hành {days} ngày (từ {date})",
                           "{days} days since go-live ({date})"),
    "board.golive_today": ("Hôm nay là ngày vận hành", "Go-live is today"),
    "board.filter_province": ("Tỉnh/thành cũ", "Former province"),
    "board.filter_cluster": ("Cụm kỹ thuật", "Technician cluster"),
    "board.filter_all": ("Tất cả", "All"),
    "board.filter_status": ("Tình trạng", "Status"),
    "board.reasons": ("Lý do chưa đạt", "Why not ready"),
    "board.stale": ("Không cập nhật được bảng từ {time}: số liệu đang hiện có thể đã cũ.",
                    "The board has not refreshed since {time}: what it shows may be old."),
    "board.search": ("Tìm phường, xã…", "Search wards…"),
    "board.search_label": ("Tìm kiếm", "Search"),
    "board.no_match": ("Không có đơn vị nào khớp", "No ward matches"),
    "board.refreshed": ("Cập nhật lúc {time}", "Updated at {time}"),
    "board.history": ("Số đơn vị sẵn sàng theo ngày", "Ready wards per day"),
    "board.history_empty": ("Chưa có lịch sử", "No history yet"),
    "board.failing_checks": ("{count} mục chưa đạt", "{count} checks failing"),
    "board.failing_check": ("1 mục chưa đạt", "1 check failing"),
    "board.legend": ("Chú thích", "Legend"),
    "ward.title": ("Tình trạng sẵn sàng", "Readiness status"),
    "ward.ready": ("Đơn vị đã sẵn sàng", "This ward is ready"),
    "ward.not_ready": ("Đơn vị chưa sẵn sàng", "This ward is not ready"),
    "ward.silent": ("Mất liên lạc với thiết bị đo của đơn vị",
                    "The ward's measuring agent is silent"),
    "ward.simulated": ("Dữ liệu mô phỏng (không phải đo thật)",
                       "Simulated data (not real measurements)"),
    "ward.checklist": ("Các mục kiểm tra", "Checklist"),
    "ward.pass": ("Đạt", "Pass"),
    "ward.fail": ("Chưa đạt", "Fail"),
    "ward.unknown": ("Chưa có số liệu", "No data yet"),
    "ward.not_installed": ("Chưa lắp thiết bị đo, chưa từng gửi số liệu",
                           "No measuring agent yet: nothing ever reported"),
    "ward.stale_age": ("Số liệu gần nhất đo cách đây {d}; chưa có số liệu mới nên không "
                       "được tính là đạt.",
                       "The newest measurement is {d} old; until a newer one arrives it "
                       "does not count as a pass."),
    "state.pass": ("Đạt", "Pass"),
    "state.fail": ("Chưa đạt", "Fail"),
    "state.stale": ("Số liệu cũ", "Stale"),
    "state.not_configured": ("Chưa khai báo", "Not configured"),
    "state.no_data": ("Chưa có số liệu", "No data yet"),
    "unconfigured.devices": ("Chưa khai báo thiết bị mạng quan trọng nào trong danh mục "
                             "(inventory: wards.<mã>.devices, critical: true).",
                             "No critical network device is declared in the inventory "
                             "(wards.<code>.devices, critical: true)."),
    "unconfigured.power": ("Chưa khai báo bộ lưu điện (UPS) nào trong danh mục "
                           "(inventory: wards.<mã>.devices, role: ups).",
                           "No UPS is declared in the inventory (wards.<code>.devices, "
                           "role: ups)."),
    "unconfigured.bandwidth": ("Chưa khai báo tốc độ theo hợp đồng của đường truyền "
                               "(inventory: wards.<mã>.links).",
                               "No link with its contracted rate is declared in the "
                               "inventory (wards.<code>.links)."),
    "unconfigured.clock": ("Chưa khai báo máy chủ thời gian (NTP) trong danh mục "
                           "(inventory: ntp_servers).",
                           "No time server (NTP) is declared in the inventory "
                           "(ntp_servers)."),
    "unconfigured.other": ("Chưa khai báo trong danh mục (inventory) điều cần đo.",
                           "What this check measures is not declared in the inventory."),
    "ward.since": ("từ {when}", "since {when}"),
    "ward.what_to_do": ("Cần làm gì", "What to do"),
    "ward.contact": ("Liên hệ hỗ trợ", "Who to call"),
    "ward.no_contact": ("Chưa có thông tin liên hệ; gọi Trung tâm Chuyển đổi số",
                        "No contact on file; call the digital transformation centre"),
    "ward.address": ("Địa chỉ", "Address"),
    "ward.last_report": ("Số liệu gần nhất", "Latest measurement"),
    "ward.never": ("Chưa từng gửi số liệu", "Never reported"),
    "ward.ups_runtime": ("pin còn khoảng {minutes} phút", "about {minutes} min of battery left"),
    "ward.back": ("Về bảng tổng hợp", "Back to the board"),
    "ward.kind": ("Loại đơn vị", "Kind"),
    "ward.province": ("Tỉnh/thành cũ", "Former province"),
    "ward.cluster": ("Cụm kỹ thuật", "Technician cluster"),
    "ward.share": ("Đường dẫn cho đơn vị", "Link for the ward"),
    # The checklist names each check neutrally: "Pass — Latency", not "Pass — High latency".
    "dispatch.title": ("Danh sách điều phối kỹ thuật", "Technician dispatch list"),
    "dispatch.csv": ("Tải CSV", "Download CSV"),
    "dispatch.ward": ("Đơn vị", "Ward"),
    "dispatch.severity": ("Mức độ", "Severity"),
    "dispatch.failing": ("Mục chưa đạt", "Failing checks"),
    "dispatch.since": ("Chưa đạt từ", "Failing since"),
    "dispatch.address": ("Địa chỉ", "Address"),
    "dispatch.contact": ("Liên hệ", "Contact"),
    "dispatch.cluster": ("Cụm", "Cluster"),
    "dispatch.empty": ("Mọi đơn vị đều sẵn sàng", "Every ward is ready"),
    "severity.critical": ("Nghiêm trọng", "Critical"),
    "severity.warning": ("Cảnh báo", "Warning"),
    "severity.info": ("Thông tin", "Info"),
    "duration.ago": ("{d} trước", "{d} ago"),
    "kind.phường": ("Phường", "Ward (phường)"),
    "kind.xã": ("Xã", "Commune (xã)"),
    "kind.đặc khu": ("Đặc khu", "Special zone (đặc khu)"),
    "hint.agent": ("Kiểm tra máy đo của đơn vị còn bật và còn kết nối mạng; nếu cần, "
                   "gọi kỹ thuật viên.",
                   "Check that the ward's measuring machine is on and connected; call a "
                   "technician if needed."),
    "hint.latency": ("Đường truyền bị chậm. Báo nhà mạng và kỹ thuật viên.",
                     "The link is slow. Tell the ISP and the technician."),
    "hint.jitter": ("Đường truyền không ổn định (họp trực tuyến có thể bị giật). Báo nhà mạng.",
                    "The link is unsteady (video calls may stutter). Tell the ISP."),
    "hint.loss": ("Đường truyền bị mất gói tin. Kiểm tra dây mạng, thiết bị; báo nhà mạng.",
                  "The link loses packets. Check cables and equipment; tell the ISP."),
    "hint.bandwidth": ("Tốc độ thấp hơn hợp đồng. Báo nhà mạng kèm số liệu trên trang này.",
                       "Speed is below the contract. Tell the ISP, with the figures on this "
                       "page."),
    "hint.platforms": ("Không vào được hệ thống dùng chung. Báo Trung tâm Chuyển đổi số.",
                       "A shared platform cannot be reached. Tell the digital transformation "
                       "centre."),
    "hint.dns": ("Phân giải tên miền chậm hoặc lỗi. Báo kỹ thuật viên.",
                 "Name lookups are slow or failing. Tell the technician."),
    "hint.devices": ("Thiết bị mạng quan trọng không hoạt động. Kiểm tra nguồn điện và dây "
                     "mạng của thiết bị, rồi gọi kỹ thuật viên.",
                     "A critical network device is down. Check its power and cables, then "
                     "call the technician."),
    "hint.power": ("Bộ lưu điện (UPS) đang chạy pin hoặc pin yếu. Kiểm tra điện lưới.",
                   "The UPS runs on battery or its battery is weak. Check the mains power."),
    "hint.clock": ("Đồng hồ máy tính lệch giờ, nên chữ ký số và trang web bảo mật có thể "
                   "bị lỗi. Báo kỹ thuật viên đặt lại đồng bộ giờ (NTP).",
                   "The computer's clock is wrong, so digital signatures and secure sites "
                   "may fail. Ask the technician to set up time synchronisation (NTP)."),
    "case.title": ("Xử lý", "Handling"),
    "case.act": ("Nhận xử lý, giao việc, ghi chú", "Acknowledge, assign, note"),
    "case.by": ("Người thực hiện", "Your name"),
    "case.comment": ("Ghi chú (không bắt buộc)", "Comment (optional)"),
    "case.hours": ("Tắt thông báo trong", "Mute notifications for"),
    "case.hours_option": ("{h} giờ", "{h} h"),
    "case.assignee": ("Kỹ thuật viên được giao", "Technician"),
    "case.note": ("Ghi chú", "Note"),
    "case.do.acknowledge": ("Nhận xử lý", "Acknowledge"),
    "case.do.assign": ("Giao việc", "Assign"),
    "case.do.note": ("Thêm ghi chú", "Add note"),
    "case.do.release": ("Bỏ nhận xử lý", "Release"),
    "case.action.acknowledge": ("nhận xử lý", "acknowledged"),
    "case.action.assign": ("giao việc", "assigned"),
    "case.action.note": ("ghi chú", "note"),
    "case.action.release": ("bỏ nhận xử lý", "released"),
    "case.action.close": ("đã sẵn sàng trở lại", "ready again"),
    "case.acknowledged_by": ("Đã nhận xử lý: {who}, lúc {at}; tắt thông báo đến {until}",
                             "Acknowledged by {who} at {at}; notifications muted until {until}"),
    "case.expired": ("Hết hạn nhận xử lý lúc {until}: thông báo đã bật lại",
                     "The acknowledgement ended at {until}: notifications are on again"),
    "case.assigned_to": ("Đã giao cho {who} lúc {at}", "Assigned to {who} at {at}"),
    "case.silence.active": ("Alertmanager: đã tắt thông báo", "Alertmanager: muted"),
    "case.silence.pending": ("Alertmanager: sắp tắt thông báo", "Alertmanager: mute pending"),
    "case.silence.queued": ("Alertmanager chưa trả lời: lệnh tắt thông báo đang chờ gửi",
                            "Alertmanager did not answer: the mute is queued"),
    "case.silence.rejected": ("Alertmanager từ chối tắt thông báo: xem nhật ký bộ thu",
                              "Alertmanager refused the mute: see the collector's log"),
    "case.silence_detail": ("{state} (bởi {who}, đến {until})",
                            "{state} (by {who}, until {until})"),
    "case.alertmanager_down": (
        "Không liên lạc được Alertmanager: các lệnh tắt thông báo đang chờ và sẽ được gửi "
        "khi Alertmanager trả lời.",
        "Alertmanager cannot be reached: mutes are queued and sent once it answers."),
    "case.tile_acknowledged": ("{who} đã nhận", "{who} on it"),
    "case.tile_assigned": ("giao {who}", "assigned to {who}"),
    "case.tile_notes": ("{n} ghi chú", "{n} notes"),
    "case.public_title": ("Kỹ thuật viên", "Technician"),
    "case.public_assigned": ("Kỹ thuật viên {who} đã được giao xử lý (lúc {at}).",
                             "Technician {who} has been assigned (at {at})."),
    "case.error.unknown_ward": ("Không có đơn vị mã {code} trong danh sách.",
                                "There is no ward {code} in the inventory."),
    "case.error.form": ("Yêu cầu không phải biểu mẫu hợp lệ.", "The request is not a valid form."),
    "case.error.too_big": ("Biểu mẫu quá lớn.", "The form is too large."),
    "case.error.forged": (
        "Biểu mẫu không đến từ trang của sansang (hoặc trang đã cũ): mở lại trang rồi thử lại.",
        "The form did not come from sansang's own page (or the page is old): reload it and "
        "try again."),
    "case.error.action": ("Thao tác không hợp lệ.", "Unknown action."),
    "case.error.required": ("Thiếu thông tin bắt buộc ({what}).",
                            "A required field is empty ({what})."),
    "case.error.too_long": ("Trường {what} dài quá {limit} ký tự.",
                            "{what} is longer than {limit} characters."),
    "case.error.control": ("Trường {what} chứa ký tự điều khiển.",
                           "{what} holds control characters."),
    "case.error.full": ("Hồ sơ xử lý của đơn vị đã có {limit} mục: bỏ nhận xử lý rồi bắt đầu lại.",
                        "This ward's case already holds {limit} entries: release it and start "
                        "again."),
    "case.error.ready": ("Đơn vị đang sẵn sàng: không có gì để xử lý.",
                         "The ward is ready: there is nothing to handle."),
    "case.error.hours": ("Thời gian tắt thông báo phải từ 1 giờ đến 7 ngày.",
                         "Notifications can be muted for 1 hour to 7 days."),
    "case.error.no_case": ("Đơn vị không có hồ sơ xử lý đang mở.",
                           "The ward has no open case."),
    "case.field.by": ("Người thực hiện", "Your name"),
    "case.field.text": ("Nội dung", "Text"),
    "notfound.title": ("Không tìm thấy trang", "Page not found"),
    "notfound.ward": ("Không có đơn vị mã {code} trong danh sách. Tìm theo tên hoặc mã:",
                      "There is no ward {code} in the inventory. Search by name or code:"),
    "notfound.page": ("Không có trang này. Tìm đơn vị theo tên hoặc mã:",
                      "There is no such page. Search for a ward by name or code:"),
    "notfound.search": ("Tìm", "Search"),
    "notfound.board": ("Về bảng tổng hợp", "Back to the city board"),
    "login.title": ("Đăng nhập trung tâm điều hành (NOC)", "NOC login"),
    "login.user": ("Tên đăng nhập", "User name"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.logout": ("Đăng xuất ({user})", "Log out ({user})"),
    "login.ward_link": (
        "Cán bộ phường, xã: mở trang của đơn vị mình bằng đường liên kết riêng đã được gửi, "
        "không cần đăng nhập.",
        "Ward staff: open your ward's page with the link you were sent; no login needed."),
    "login.error.wrong": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "login.error.throttled": ("Đăng nhập sai quá nhiều lần: chờ một lúc rồi thử lại.",
                              "Too many failed logins: wait a moment and try again."),
    "login.error.too_long": ("Mật khẩu dài quá {limit} byte.",
                             "The password is longer than {limit} bytes."),
    "login.error.form": ("Yêu cầu đăng nhập không hợp lệ.", "The login request is not valid."),
    "login.error.forged": ("Biểu mẫu đăng nhập không đến từ trang của sansang.",
                           "The login form did not come from sansang's own page."),
    "problem.title": ("Không thực hiện được", "That did not work"),
    "problem.back": ("Quay lại", "Go back"),
    "tools.alertmanager": ("Cảnh báo trong Alertmanager", "Alerts in Alertmanager"),
    "tools.prometheus": ("Cảnh báo trong Prometheus", "Alerts in Prometheus"),
    "tools.grafana": ("Bảng theo dõi Grafana", "Grafana dashboard"),
    # agent.py check: the checklist on site, where the declarations live in agent.yaml.
    "agent_check.unconfigured.bandwidth": (
        "không có hợp đồng đường truyền trong agent.yaml (readiness.links)",
        "no contract in agent.yaml (readiness.links)"),
    "agent_check.unconfigured.devices": (
        "không có thiết bị mạng quan trọng nào trong agent.yaml (readiness.devices, "
        "critical: true)",
        "no critical network device in agent.yaml (readiness.devices, critical: true)"),
    "agent_check.unconfigured.power": (
        "không có bộ lưu điện (UPS) nào trong agent.yaml (readiness.devices, role: ups)",
        "no UPS in agent.yaml (readiness.devices, role: ups)"),
    "agent_check.unconfigured.clock": (
        "không có máy chủ thời gian (NTP) nào trong agent.yaml (readiness.ntp_servers)",
        "no time server (NTP) in agent.yaml (readiness.ntp_servers)"),
    "agent_check.unconfigured.other": (
        "agent.yaml không khai báo điều cần đo (readiness)",
        "what this check measures is not declared in agent.yaml (readiness)"),
    "agent_check.cause": ("nguyên nhân: {cause}", "cause: {cause}"),
    # The figure's name where one item has several (a link's download and upload).
    "agent_check.figure.bandwidth.download": ("tải xuống", "download"),
    "agent_check.figure.bandwidth.upload": ("tải lên", "upload"),
    "agent_check.figure.platforms.slow": ("phản hồi", "answer"),
    "agent_check.figure.platforms.tls_expiry": ("chứng chỉ TLS còn hạn",
                                                "TLS certificate valid for"),
    "agent_check.figure.power.charge": ("pin", "charge"),
    "agent_check.figure.power.runtime": ("thời gian chạy pin", "runtime"),
    "agent_check.no_data_cause": ("lần đo lỗi: {cause}", "the probe failed: {cause}"),
    "agent_check.not_probed": ("agent.yaml không đo mục này", "agent.yaml does not probe it"),
    "agent_check.stale": ("số liệu gần nhất đo cách đây {d}, không được tính là đạt",
                          "the newest measurement is {d} old and does not count as a pass"),
    "agent_check.progress": ("[{index}/{total}] {kind}: {targets} mục…",
                             "[{index}/{total}] {kind}: {targets} target(s)…"),
    "agent_check.progress_ok": ("xong", "ok"),
    "agent_check.progress_failed": ("{n} mục lỗi", "{n} failed"),
    "agent_check.pushed": ("đã gửi {n} báo cáo đến {url}", "pushed {n} report(s) to {url}"),
    "agent_check.collector_said": ("collector trả lời {status}: {error}",
                                   "the collector said {status}: {error}"),
    "agent_check.unreachable": ("không kết nối được collector: {why}",
                                "cannot reach the collector: {why}"),
    "agent_check.kept": ("{error}; đã giữ {n} báo cáo trong hàng đợi của agent (spool) để gửi "
                         "sau",
                         "{error}; kept {n} report(s) in the agent's spool for later"),
    "agent_check.not_kept": ("{error}; không giữ được báo cáo trong hàng đợi (spool) "
                             "{path}: {why}",
                             "{error}; could not keep the reports in the spool {path}: {why}"),
    "agent_check.interrupted": ("đã dừng kiểm tra (Ctrl-C); chưa có kết luận",
                                "check stopped (Ctrl-C); no verdict"),
}


def translate(key: str, language: Language, **values: object) -> str:
    vi, en = MESSAGES[key]
    text = vi if language == "vi" else en
    return text.format(**values) if values else text
