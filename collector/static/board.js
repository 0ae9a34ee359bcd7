// The board's filters, diacritic-blind search and self-refresh. The page works without it.
(function () {
  "use strict";
  const SETTINGS = JSON.parse(document.getElementById("sansang-settings").textContent);
  const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().replace(/\s+/g, " ").trim();
  const tiles = Array.from(document.querySelectorAll(".tile"));
  tiles.forEach((tile) => { tile.dataset.folded = fold(tile.dataset.name + " " + tile.dataset.code); });
  const search = document.getElementById("search");
  const province = document.getElementById("province");
  const cluster = document.getElementById("cluster");
  const noMatch = document.getElementById("no-match");

  function apply() {
    const words = fold(search.value).split(" ").filter(Boolean);
    let shown = 0;
    tiles.forEach((tile) => {
      const visible = words.every((w) => tile.dataset.folded.includes(w)) &&
        (!province.value || tile.dataset.province === province.value) &&
        (!cluster.value || tile.dataset.cluster === cluster.value);
      tile.hidden = !visible;
      if (visible) shown += 1;
    });
    noMatch.hidden = shown > 0;
  }
  [search, province, cluster].forEach((el) => el.addEventListener("input", apply));

  async function refresh() {
    try {
      const response = await fetch("/api/v1/wards?lang=" + SETTINGS.lang, {credentials: "same-origin"});
      if (!response.ok) return;
      const data = await response.json();
      data.wards.forEach((ward) => {
        const tile = document.getElementById("tile-" + ward.code);
        if (!tile) return;
        tile.classList.remove("ready", "not_ready", "silent", "not_installed");
        tile.classList.add(ward.status);
        tile.dataset.status = ward.status;
      });
      ["ready", "not_ready", "silent", "not_installed"].forEach((k) => {
        const el = document.getElementById("count-" + k);
        if (el) el.textContent = data.counts[k];
      });
      document.getElementById("updated").textContent =
        SETTINGS.refreshed.replace("TIME", new Date().toLocaleTimeString());
    } catch (error) {
      // A missed refresh is retried on the next tick; the board keeps what it shows.
    }
  }
  setInterval(refresh, 30000);
})();
