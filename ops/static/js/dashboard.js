/* Dashboard: renders the /stats document (embedded at load, then re-fetched) into banners,
   cards, uPlot charts and tables. Text goes in through textContent only. */
(function () {
  "use strict";

  var REFRESH_MS = 15000;
  var MB = 1024 * 1024;
  var root = document.getElementById("sessions");
  var template = document.getElementById("session-template");
  var views = {}; // session name -> {el, charts}
  window.blackskyCharts = [];

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    seconds = Math.max(0, Math.round(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + s + "s";
    return s + "s";
  }
  function fmtTime(iso) {
    return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "") : "–";
  }
  function sinceSeconds(iso, now) {
    return iso ? (now - Date.parse(iso)) / 1000 : null;
  }
  function stateClass(state) {
    if (state === "connected") return "state-ok";
    if (["starting", "restoring", "connecting", "pairing", "reconnecting"].indexOf(state) >= 0) return "state-warn";
    return "state-bad";
  }
  function setField(el, name, text) {
    var node = el.querySelector('[data-field="' + name + '"]');
    if (node) node.textContent = text;
  }
  function fillTable(el, name, rows) {
    var body = el.querySelector('[data-table="' + name + '"]');
    while (body.firstChild) body.removeChild(body.firstChild);
    if (!rows.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 5; td.className = "muted"; td.textContent = "none yet";
      tr.appendChild(td); body.appendChild(tr);
      return;
    }
    rows.forEach(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (cell, i) {
        var td = document.createElement("td");
        td.textContent = cell === null || cell === undefined ? "" : String(cell);
        if (i === cells.length - 1 && String(cell).length > 40) td.className = "wrap";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function chartWidth(holder) {
    return Math.max(300, (holder.parentNode.clientWidth || 400) - 12);
  }
  function makeCharts(el, s) {
    var limit = s.memory.limit_mb;
    var specs = {
      rate: {
        data: rateData(s),
        series: [{}, { label: "in", stroke: "#2563eb", width: 2, fill: "rgba(37,99,235,.08)" },
                     { label: "out", stroke: "#16a34a", width: 2 }],
        scales: { y: { range: function (u, min, max) { return [0, Math.max(5, max * 1.15)]; } } },
      },
      memory: {
        data: memoryData(s),
        series: [{}, { label: "RSS peak MB", stroke: "#7c3aed", width: 2, spanGaps: false, points: { show: true, size: 4 } },
                     { label: "limit " + limit + " MB", stroke: "#c53030", width: 1, dash: [6, 4], points: { show: false } }],
        scales: { y: { range: function () { return [0, limit * 1.1]; } } },
      },
      reconnects: {
        data: reconnectData(s),
        series: [{}, { label: "reconnects", stroke: "#b7791f", fill: "rgba(183,121,31,.45)",
                       paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } }],
        scales: { y: { range: function (u, min, max) { return [0, Math.max(3, max + 1)]; } } },
      },
    };
    var charts = {};
    Object.keys(specs).forEach(function (key) {
      var holder = el.querySelector('[data-chart="' + key + '"]');
      var spec = specs[key];
      var opts = {
        width: chartWidth(holder), height: 200, series: spec.series, scales: Object.assign({ x: { time: true } }, spec.scales),
        axes: [{}, { size: 50 }], legend: { live: false },
      };
      charts[key] = new uPlot(opts, spec.data, holder);
      window.blackskyCharts.push({ session: s.session, name: key, chart: charts[key] });
    });
    return charts;
  }
  function rateData(s) { var m = s.series.minutes; return [m.t, m.in, m.out]; }
  function memoryData(s) {
    var h = s.series.hours;
    var rss = h.rss_max_bytes.map(function (v) { return v === null ? null : Math.round((v / MB) * 10) / 10; });
    var limit = h.t.map(function () { return s.memory.limit_mb; });
    return [h.t, rss, limit];
  }
  function reconnectData(s) { var h = s.series.hours; return [h.t, h.reconnects]; }

  function renderSession(s, now) {
    var view = views[s.session];
    if (!view) {
      var el = template.content.firstElementChild.cloneNode(true);
      el.dataset.session = s.session;
      var link = el.querySelector('[data-role="pair-link"]');
      link.href = root.dataset.pairUrl + "?session=" + encodeURIComponent(s.session);
      root.appendChild(el);
      view = views[s.session] = { el: el, charts: null };
    }
    var el2 = view.el;
    var banner = el2.querySelector('[data-role="banner"]');
    var stale = s.state && !s.heartbeat_fresh;  // the last state written is not to be trusted
    banner.className = "banner " + (stale ? "state-bad" : stateClass(s.state));
    setField(el2, "state", s.session + ": " + (s.state || "not reporting") + (stale ? " (stale)" : ""));
    setField(el2, "since", s.state_since ? "for " + fmtDuration(sinceSeconds(s.state_since, now)) : "");
    var label = s.state_label && s.state ? s.state_label.slice(s.state.length).trim() : "";
    setField(el2, "reason", label || (s.state_reason ? "(" + s.state_reason + ")" : ""));
    var p = s.connection_problem;  // the last failed dial and when the bot tries again, as the worker logs it
    setField(el2, "problem", p ? p.label + ": last try " + fmtTime(p.failed_at) + (p.error ? " failed with " + p.error : " failed") +
      (p.next_try_at ? "; next try " + fmtTime(p.next_try_at) : "") : "");
    setField(el2, "heartbeat", s.heartbeat_age_seconds === null ? "no heartbeat" :
      "heartbeat " + fmtDuration(s.heartbeat_age_seconds) + " ago" + (s.heartbeat_fresh ? "" : " (STALE)"));

    var r = s.messages.rate;
    setField(el2, "rate1", r["1m"].in_per_minute + " in");
    setField(el2, "rates", "5 min: " + r["5m"].in_per_minute + "/min · 1 h: " + r["1h"].in_per_minute +
      "/min · out 1 h: " + r["1h"].out_per_minute + "/min");
    var mem = s.memory;
    setField(el2, "memory", mem.rss_mb + " MB");
    setField(el2, "memory_detail", (mem.percent_of_limit === null ? "" : mem.percent_of_limit + "% of " + mem.limit_mb + " MB") +
      (mem.trend_mb_per_hour === null ? "" : " · trend " + (mem.trend_mb_per_hour >= 0 ? "+" : "") + mem.trend_mb_per_hour + " MB/h"));
    setField(el2, "conn_uptime", s.connection_uptime_seconds === null ? "not connected" : fmtDuration(s.connection_uptime_seconds));
    setField(el2, "proc_uptime", "process " + fmtDuration(s.process_uptime_seconds) + (s.process_running ? "" : " (not running)") + " · child restarts " + s.child_restarts +
      (s.host ? " · " + s.host + (s.pid ? ":" + s.pid : "") : ""));
    setField(el2, "reconnects", String(s.reconnects.last_24h_total));
    setField(el2, "reconnect_reasons", Object.keys(s.reconnects.last_24h_by_reason).map(function (k) {
      return k + " " + s.reconnects.last_24h_by_reason[k];
    }).join(" · ") || "none");
    setField(el2, "backup_age", s.backups.newest_verified_age_seconds === null ? "none" : fmtDuration(s.backups.newest_verified_age_seconds) + " ago");
    setField(el2, "backup_states", Object.keys(s.backups.by_state).map(function (k) {
      return k + " " + s.backups.by_state[k];
    }).join(" · ") || "no backups");
    var origin = s.origin || {label: "not recorded", at: null};
    setField(el2, "origin", origin.label);
    setField(el2, "origin_at", origin.at ? "decided at start, " + fmtTime(origin.at) + " UTC" : "");
    setField(el2, "webhook_failures", String(s.webhooks.failures_24h) + " / " + s.webhooks.deliveries_24h);
    setField(el2, "lease", s.lease ? "lease: " + (s.lease.held ? s.lease.holder : "free") + " (fencing " + s.lease.fencing + ")" : "no lease row");
    var ob = s.outbox;
    setField(el2, "outbox_queued", ob.queued + " queued");
    setField(el2, "outbox_detail", (ob.oldest_queued_age_seconds === null ? "nothing waiting" :
      "oldest " + fmtDuration(ob.oldest_queued_age_seconds)) + " · 24 h: sent " + ob.last_24h.sent + ", failed " +
      ob.last_24h.failed + ", expired " + ob.last_24h.expired + ", discarded " + ob.last_24h.discarded);

    var lv = s.liveness || {watched: false};  // the round trip through WhatsApp (ops/selectors/liveness.py)
    setField(el2, "liveness", !lv.watched ? "not measured" : lv.problem ? "NOT ANSWERING" :
      lv.last_ok_age_seconds === null ? "no answer yet" : fmtDuration(lv.last_ok_age_seconds) + " ago");
    setField(el2, "liveness_detail", !lv.watched ? "this transport has no round trip" : (lv.problem ? lv.problem + " · " : "") +
      "answered " + lv.answered + ", unanswered " + lv.unanswered + (lv.round_trip_ms === null ? "" : " · " + lv.round_trip_ms + " ms") +
      " · last event " + (lv.last_inbound_age_seconds === null ? "never" : fmtDuration(lv.last_inbound_age_seconds) + " ago") +
      " · last message " + (lv.last_message_age_seconds === null ? "never" : fmtDuration(lv.last_message_age_seconds) + " ago"));
    var ph = s.primary_phone || {last_seen_age_seconds: null};
    setField(el2, "phone_age", ph.last_seen_age_seconds === null ? "not watched" :
      fmtDuration(ph.last_seen_age_seconds) + (ph.ever_seen ? " ago" : " (not seen yet)"));
    setField(el2, "phone_detail", ph.unlink_in_days === null ? "" : "WhatsApp unlinks this bot in about " + ph.unlink_in_days +
      " days without the phone" + (ph.warned_days ? " · owners warned at " + ph.warned_days + " days" : ""));

    fillTable(el2, "events", s.connection_events.map(function (e) { return [fmtTime(e.at), e.from_state, e.to_state, e.reason]; }));
    fillTable(el2, "reconnects", s.reconnects.last.map(function (e) {
      return [fmtTime(e.at), e.attempt, e.delay_seconds.toFixed(1) + " s", e.reason, e.outcome];
    }));
    fillTable(el2, "commands", s.top_commands_24h.map(function (c) { return [c.name, c.count]; }));
    fillTable(el2, "controls", s.controls.map(function (c) {
      return [fmtTime(c.requested_at), c.action, c.requested_by || "–", c.state, c.result];
    }));

    if (!view.charts) {
      view.charts = makeCharts(el2, s);
    } else {
      view.charts.rate.setData(rateData(s));
      view.charts.memory.setData(memoryData(s));
      view.charts.reconnects.setData(reconnectData(s));
    }
  }

  function render(snapshot) {
    var now = Date.parse(snapshot.generated_at) || Date.now();
    document.getElementById("no-sessions").hidden = snapshot.sessions.length > 0;
    snapshot.sessions.forEach(function (s) { renderSession(s, now); });
    document.getElementById("refreshed-at").textContent = "Data as of " + fmtTime(snapshot.generated_at) + " UTC.";
  }

  function refresh() {
    fetch(root.dataset.statsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.ok) return response.json();
        document.getElementById("refreshed-at").textContent = "Refresh failed (HTTP " + response.status + "); retrying.";
        return null;
      })
      .then(function (snapshot) { if (snapshot) render(snapshot); })
      .catch(function () { document.getElementById("refreshed-at").textContent = "Refresh failed; retrying."; });
  }

  render(JSON.parse(document.getElementById("stats-data").textContent));
  window.addEventListener("resize", function () {
    Object.keys(views).forEach(function (name) {
      var charts = views[name].charts;
      Object.keys(charts).forEach(function (key) {
        var holder = views[name].el.querySelector('[data-chart="' + key + '"]');
        charts[key].setSize({ width: chartWidth(holder), height: 200 });
      });
    });
  });
  setInterval(refresh, REFRESH_MS);
})();
