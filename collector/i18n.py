"""Every piece of text the pages show, in Vietnamese (the default) and English.

Templates never hold words of their own: they ask ``t(key)``. A test walks the
templates to prove it, and checks that each key used has both languages.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
DEFAULT_LANGUAGE: Language = "vi"

MESSAGES: dict[str, tuple[str, str]] = {
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
    "check.agent": ("Thiết bị đo gửi số liệu", "Measuring agent reporting"),
    "check.latency": ("Độ trễ", "Latency"),
    "check.jitter": ("Độ ổn định đường truyền (jitter)", "Jitter"),
    "check.loss": ("Tỷ lệ mất gói tin", "Packet loss"),
    "check.bandwidth": ("Tốc độ so với hợp đồng", "Speed against the contract"),
    "check.platforms": ("Truy cập các hệ thống dùng chung", "Shared platforms"),
    "check.dns": ("Phân giải tên miền (DNS)", "Name lookups (DNS)"),
    "check.devices": ("Thiết bị mạng quan trọng", "Critical network devices"),
    "check.power": ("Điện lưới và bộ lưu điện (UPS)", "Mains power and UPS"),
    "check.clock": ("Đồng hồ máy tính", "Clock"),
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
    "duration.seconds": ("{n} giây", "{n} s"),
    "duration.minutes": ("{n} phút", "{n} min"),
    "duration.hours": ("{n} giờ", "{n} h"),
    "duration.days": ("{n} ngày", "{n} days"),
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
}


def translate(key: str, language: Language, **values: object) -> str:
    vi, en = MESSAGES[key]
    text = vi if language == "vi" else en
    return text.format(**values) if values else text
