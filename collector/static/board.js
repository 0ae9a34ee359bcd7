// The board's filters (in the address, so a team can bookmark its view), the search that
// finds wards the way people name them, and the self-refresh that says when it fails.
// The page works without it.
(function () {
  "use strict";
  const SETTINGS = JSON.parse(document.getElementById("sansang-settings").textContent);
  const STATUSES = ["ready", "not_ready", "silent", "not_installed"];
  // Diacritic-, case- and punctuation-blind: "Tân Sơn Nhất" is "tan son nhat".
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().replace(/[^a-z0-9|]+/g, " ")
    .replace(/\s+/g, " ").trim();
  // The type words people add or leave out: "P. Tân Sơn Nhất", "phường", "xã", "đặc khu".
  const TYPE_WORDS = /^(p|x|phuong|xa|dac khu|dk)\s+/;
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  function matcher(query) {
    const folded = fold(query).replace(TYPE_WORDS, "");
    if (!folded) return () => true;
    // A number alone is a ward code, and only a whole one ("1" is not "26968").
    if (/^\d+$/.test(folded)) return (tile) => tile.dataset.code === folded;
    // Space-blind ("tansonnhat"), each name from its start, a number never the start
    // of a longer one ("quan 1" is not "quan 10").
    const letters = Array.from(folded.replace(/ /g, "")).map(escape).join(" ?");
    const end = /\d$/.test(folded) ? "(?![0-9])" : "";
    const pattern = new RegExp("(^|[| ])" + letters + end);
    return (tile) => pattern.test(namesOf(tile));
  }

  const tiles = Array.from(document.querySelectorAll(".tile"));
  // A tile's names folded once, when a search first needs them: not while the page loads.
  const foldedNames = new Map();
  function namesOf(tile) {
    let names = foldedNames.get(tile);
    if (names === undefined) {
      names = [tile.dataset.name, ...(tile.dataset.former || "").split("|"), tile.dataset.cluster]
        .map((n) => fold(n).replace(TYPE_WORDS, "")).join("|");
      foldedNames.set(tile, names);
    }
    return names;
  }
  const search = document.getElementById("search");
  const province = document.getElementById("province");
  const cluster = document.getElementById("cluster");
  const status = document.getElementById("status");
  const reasons = Array.from(document.querySelectorAll(".reason"));
  const noMatch = document.getElementById("no-match");
  const shownCount = document.getElementById("shown-count");

  function chosenReason() {
    const pressed = reasons.find((r) => r.getAttribute("aria-pressed") === "true");
    return pressed ? pressed.dataset.check : "";
  }

  function apply() {
    const matches = matcher(search.value);
    const reason = chosenReason();
    let shown = 0;
    tiles.forEach((tile) => {
      const visible = matches(tile) &&
        (!province.value || tile.dataset.province === province.value) &&
        (!cluster.value || tile.dataset.cluster === cluster.value) &&
        (!status.value || tile.dataset.status === status.value) &&
        (!reason || tile.dataset.failing.split(" ").includes(reason));
      // Only a change is written: rewriting 3,321 unchanged tiles costs a style pass.
      if (tile.hidden === visible) tile.hidden = !visible;
      if (visible) shown += 1;
    });
    noMatch.hidden = shown > 0;
    shownCount.textContent = String(shown);
    const query = new URLSearchParams(window.location.search);
    const wanted = {q: search.value, province: province.value, cluster: cluster.value,
                    status: status.value, check: reason};
    Object.entries(wanted).forEach(([k, v]) => (v ? query.set(k, v) : query.delete(k)));
    window.history.replaceState(null, "", "?" + query.toString());
  }

  // The view in the address: a team's bookmark opens its own view.
  const asked = new URLSearchParams(window.location.search);
  search.value = asked.get("q") || "";
  province.value = asked.get("province") || "";
  cluster.value = asked.get("cluster") || "";
  status.value = asked.get("status") || "";
  reasons.forEach((r) => r.setAttribute("aria-pressed",
                                          String(r.dataset.check === asked.get("check"))));
  reasons.forEach((r) => r.addEventListener("click", () => {
    const on = r.getAttribute("aria-pressed") !== "true";
    reasons.forEach((other) => other.setAttribute("aria-pressed", "false"));
    r.setAttribute("aria-pressed", String(on));
    apply();
  }));
  [search, province, cluster, status].forEach((el) => el.addEventListener("input", apply));
  apply();

  const banner = document.getElementById("stale-banner");
  let lastGood = new Date();

  async function refresh() {
    try {
      const response = await fetch("/api/v1/wards?lang=" + SETTINGS.lang,
                                   {credentials: "same-origin"});
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      data.wards.forEach((ward) => {
        const tile = document.getElementById("tile-" + ward.code);
        if (!tile) return;
        tile.classList.remove(...STATUSES);
        tile.classList.add(ward.status);
        tile.dataset.status = ward.status;
        tile.dataset.failing = ward.failing.map((f) => f.check).join(" ");
      });
      STATUSES.forEach((k) => {
        const el = document.getElementById("count-" + k);
        if (el) el.textContent = data.counts[k];
      });
      lastGood = new Date();
      banner.hidden = true;
      document.body.classList.remove("board-stale");
      document.getElementById("updated").textContent =
        SETTINGS.refreshed.replace("TIME", lastGood.toLocaleTimeString(SETTINGS.locale,
                                                                       {timeZone: SETTINGS.zone}));
      apply();
    } catch (error) {
      // The board keeps what it shows, but says since when it is old, and greys it.
      banner.textContent = SETTINGS.stale.replace(
        "TIME", lastGood.toLocaleTimeString(SETTINGS.locale, {timeZone: SETTINGS.zone}));
      banner.hidden = false;
      document.body.classList.add("board-stale");
    }
  }
  setInterval(refresh, SETTINGS.refresh_seconds * 1000);
})();
