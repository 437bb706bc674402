// The authorities' dashboard: figures from /v1/stats/* drawn with the locally served ECharts.
// The API key never appears in the page source: it is typed into the form, or handed over in the URL
// (#key=… preferred, never sent to the server; ?key=… also accepted) and removed from the address bar at once.
// It is kept in sessionStorage (this tab only) and sent only as the Authorization header.
"use strict";

(function () {
  const STORE = "bashu.dashboard.key";
  const charts = {};
  const options = {};
  const state = { period: null };

  function takeKeyFromUrl() {
    const url = new URL(window.location.href);
    const hash = new URLSearchParams(url.hash.replace(/^#/, ""));
    const key = hash.get("key") || url.searchParams.get("key");
    if (key) {
      sessionStorage.setItem(STORE, key);
      url.searchParams.delete("key");
      url.hash = "";
      history.replaceState(null, "", url.pathname + (url.search || ""));
    }
  }

  function key() { return sessionStorage.getItem(STORE); }

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: "Bearer " + key() } });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return response;
  }

  async function json(path) { return (await api(path)).json(); }

  // Every page of a paged list (api.md: `limit`, `cursor`, `next_cursor`): the first page's other fields with
  // all the items. The charts need all the rows: the county map drew only the first page's 20 counties.
  async function allPages(path) {
    const base = path + (path.includes("?") ? "&" : "?") + "limit=100";
    const first = await json(base);
    let page = first;
    while (page.next_cursor) {
      page = await json(base + "&cursor=" + encodeURIComponent(page.next_cursor));
      first.items = first.items.concat(page.items);
    }
    first.next_cursor = null;
    return first;
  }

  function el(id) { return document.getElementById(id); }

  function show(which) {
    el("login").hidden = which !== "login";
    el("board").hidden = which !== "board";
    el("controls").hidden = which !== "board";
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) return "—";
    return Number(value).toFixed(digits);
  }

  // ------------------------------------------------------------------------------------------ charts

  function draw(name, option) {
    options[name] = option;
    if (!charts[name]) charts[name] = echarts.init(el("chart-" + name), null, { renderer: "canvas" });
    charts[name].setOption(option, true);
  }

  function occupationOption(items) {
    const rows = items.filter((r) => r.occupation_code && r.open_headcount > 0)
      .sort((a, b) => b.open_headcount - a.open_headcount).slice(0, 15).reverse();
    return {
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: ["求人倍率", "岗位空缺", "求职人数"] },
      grid: { left: 120, right: 40, top: 40, bottom: 30 },
      xAxis: [{ type: "value", name: "倍率" }, { type: "value", name: "人数", position: "top" }],
      yAxis: { type: "category", data: rows.map((r) => r.occupation_name || r.occupation_code) },
      series: [
        { name: "求人倍率", type: "bar", data: rows.map((r) => r.ratio), itemStyle: { color: "#d9822b" },
          label: { show: true, position: "right", formatter: (p) => fmt(p.value, 2) } },
        { name: "岗位空缺", type: "bar", xAxisIndex: 1, data: rows.map((r) => r.open_headcount),
          itemStyle: { color: "rgba(31,92,148,.35)" } },
        { name: "求职人数", type: "bar", xAxisIndex: 1, data: rows.map((r) => r.available_workers),
          itemStyle: { color: "rgba(60,150,90,.35)" } },
      ],
    };
  }

  function countyOption(items) {
    // Counties with vacancies but no available seekers have no ratio: they head the ranking, marked 无求职者.
    const totals = items.filter((r) => !r.occupation_code && (r.open_headcount > 0 || r.available_workers > 0));
    const rated = totals.filter((r) => r.ratio !== null).sort((a, b) => b.ratio - a.ratio);
    const top = rated.length ? Number(rated[0].ratio) : 1;
    const unrated = totals.filter((r) => r.ratio === null).sort((a, b) => b.open_headcount - a.open_headcount)
      .map((r) => Object.assign({}, r, { shown: Math.max(top, 1) * 1.15, unrated: true }));
    const rows = unrated.concat(rated.map((r) => Object.assign({}, r, { shown: r.ratio }))).slice(0, 20).reverse();
    return {
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
                 formatter: (ps) => { const r = rows[ps[0].dataIndex];
                   return `${r.area_name}<br>求人倍率 ${r.unrated ? "—（无求职者）" : fmt(r.ratio, 2)}` +
                          `<br>岗位空缺 ${r.open_headcount} · 求职人数 ${r.available_workers}`; } },
      grid: { left: 150, right: 110, top: 20, bottom: 30 },
      xAxis: { type: "value", name: "倍率" },
      yAxis: { type: "category", data: rows.map((r) => r.area_name) },
      series: [{ name: "求人倍率", type: "bar",
                 data: rows.map((r) => ({ value: r.shown, itemStyle: { color: r.unrated ? "#8c1c13"
                   : r.ratio >= 1.5 ? "#d1495b" : r.ratio >= 1 ? "#f2c14e" : "#4f9d69" } })),
                 label: { show: true, position: "right",
                          formatter: (p) => { const r = rows[p.dataIndex];
                            return r.unrated ? `无求职者（空缺 ${r.open_headcount}）` : fmt(r.ratio, 2); } } }],
    };
  }

  function flowsOption(items) {
    // Origins and destinations are separate nodes (a county can be both), so the graph has no cycles.
    const top = items.slice(0, 30);
    const nodes = new Map();
    const links = top.map((f) => {
      const source = (f.origin.name || f.origin.adcode) + " ↗";
      const target = "↘ " + (f.destination.name || f.destination.adcode);
      nodes.set(source, { name: source, itemStyle: { color: "#1f5c94" } });
      nodes.set(target, { name: target, itemStyle: { color: "#d9822b" } });
      return { source: source, target: target, value: f.placements,
               lineStyle: { color: f.cross_province ? "#d1495b" : "source", opacity: 0.45 } };
    });
    return {
      animation: false,
      tooltip: { trigger: "item" },
      series: [{ type: "sankey", data: Array.from(nodes.values()), links: links, nodeGap: 6,
                 emphasis: { focus: "adjacency" }, label: { fontSize: 11 }, left: 10, right: 90 }],
      graphic: links.length ? [] : [{ type: "text", left: "center", top: "middle",
                                      style: { text: "本期无转移就业记录", fontSize: 16, fill: "#889" } }],
    };
  }

  function trendOption(items) {
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: ["求人倍率", "岗位空缺", "求职人数"] },
      grid: { left: 50, right: 60, top: 40, bottom: 30 },
      xAxis: { type: "category", data: items.map((r) => r.period) },
      yAxis: [{ type: "value", name: "倍率" }, { type: "value", name: "人数" }],
      series: [
        { name: "求人倍率", type: "line", data: items.map((r) => r.ratio), smooth: true, symbolSize: 8,
          itemStyle: { color: "#d9822b" }, label: { show: true, formatter: (p) => fmt(p.value, 2) } },
        { name: "岗位空缺", type: "bar", yAxisIndex: 1, data: items.map((r) => r.open_headcount),
          itemStyle: { color: "rgba(31,92,148,.3)" } },
        { name: "求职人数", type: "bar", yAxisIndex: 1, data: items.map((r) => r.available_workers),
          itemStyle: { color: "rgba(60,150,90,.3)" } },
      ],
    };
  }

  // ---------------------------------------------------------------------------------------- downloads

  function save(href, filename) {
    const a = document.createElement("a");
    a.href = href;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function downloadPng(name) {
    const url = charts[name].getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
    save(url, `${name}-${state.period}.png`);
  }

  function svgOf(name) {
    // A throw-away chart with the SVG renderer draws the same option as vector graphics.
    const holder = document.createElement("div");
    const size = el("chart-" + name).getBoundingClientRect();
    holder.style.width = Math.round(size.width) + "px";
    holder.style.height = Math.round(size.height) + "px";
    holder.style.position = "absolute";
    holder.style.left = "-10000px";
    document.body.appendChild(holder);
    const chart = echarts.init(holder, null, { renderer: "svg" });
    chart.setOption(options[name]);
    const url = chart.getDataURL({ type: "svg", backgroundColor: "#fff" });
    chart.dispose();
    holder.remove();
    return url;
  }

  function downloadSvg(name) { save(svgOf(name), `${name}-${state.period}.svg`); }

  async function downloadCsv(path, filename) {
    const blob = await (await api(path)).blob();
    const url = URL.createObjectURL(blob);
    save(url, filename);
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function addDownloadButtons() {
    document.querySelectorAll(".downloads").forEach((holder) => {
      const name = holder.dataset.chart;
      for (const kind of ["PNG", "SVG"]) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = kind;
        button.dataset.download = name + "-" + kind.toLowerCase();
        button.addEventListener("click", () => (kind === "PNG" ? downloadPng(name) : downloadSvg(name)));
        holder.appendChild(button);
      }
    });
  }

  // ------------------------------------------------------------------------------------------- data

  function summary(total, flows, meta) {
    const cells = [
      [fmt(total && total.ratio, 2), "求人倍率（经济圈）"],
      [total ? total.open_headcount : 0, "岗位空缺"],
      [total ? total.available_workers : 0, "求职人数"],
      [total ? total.placements : 0, "本期安置"],
      [flows.total, "转移就业"],
      [flows.cross_province, "其中跨省"],
    ];
    const box = el("summary");
    box.replaceChildren();
    for (const [value, label] of cells) {
      const div = document.createElement("div");
      const b = document.createElement("b");
      b.textContent = value;
      const span = document.createElement("span");
      span.textContent = label;
      div.append(b, span);
      box.appendChild(div);
    }
    el("period-meta").textContent = (meta.frozen ? "已冻结" : "统计中") + " · 截至 " +
      new Date(meta.as_of).toLocaleString("zh-CN", { hour12: false }) + (meta.source === "demo" ? " · 演示数据" : "");
  }

  function flowsTable(items) {
    const body = el("flows-table").querySelector("tbody");
    body.replaceChildren();
    for (const f of items) {
      const tr = document.createElement("tr");
      const cells = [f.origin.name || f.origin.adcode, f.destination.name || f.destination.adcode,
                     String(f.placements), f.cross_province ? "是" : ""];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 2) td.className = "num";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
  }

  async function loadPeriod(period) {
    state.period = period;
    document.body.dataset.state = "loading";
    el("board-error").textContent = "";
    const q = encodeURIComponent(period);
    try {
      const [circle, county, flows, trend] = await Promise.all([
        allPages(`/v1/stats/supply-demand?period=${q}&level=circle`),
        allPages(`/v1/stats/supply-demand?period=${q}&level=county`),
        allPages(`/v1/stats/transfers?period=${q}`),
        json("/v1/stats/trend?kind=month&level=circle"),
      ]);
      summary(circle.items.find((r) => !r.occupation_code), flows, circle);
      draw("occupation", occupationOption(circle.items));
      draw("county", countyOption(county.items));
      draw("flows", flowsOption(flows.items));
      draw("trend", trendOption(trend.items));
      flowsTable(flows.items);
      document.body.dataset.state = "ready";
    } catch (error) {
      el("board-error").textContent = "加载失败 / failed to load: " + error.message;
      document.body.dataset.state = "error";
    }
  }

  async function start() {
    let periods;
    try {
      periods = (await allPages("/v1/stats/periods")).items;
    } catch (error) {
      sessionStorage.removeItem(STORE);
      show("login");
      el("login-error").textContent = error.status === 403 ? "此密钥不是主管部门密钥 / an authority key is required"
        : error.status === 401 ? "密钥无效 / invalid key" : "无法连接 / " + error.message;
      document.body.dataset.state = "login";
      return;
    }
    show("board");
    const select = el("period");
    select.replaceChildren();
    const ordered = periods.slice().sort((a, b) => (a.starts_on === b.starts_on
      ? (a.kind === "month" ? -1 : 1) : (a.starts_on < b.starts_on ? 1 : -1)));
    for (const p of ordered) {
      const option = document.createElement("option");
      option.value = p.period;
      option.textContent = p.period + (p.frozen ? "" : "（统计中）");
      select.appendChild(option);
    }
    if (!ordered.length) {
      el("board-error").textContent = "尚无统计数据（每 10 分钟计算一次）/ no figures yet";
      document.body.dataset.state = "empty";
      return;
    }
    const month = ordered.find((p) => p.kind === "month") || ordered[0];
    select.value = month.period;
    await loadPeriod(month.period);
  }

  document.addEventListener("DOMContentLoaded", () => {
    takeKeyFromUrl();
    addDownloadButtons();
    el("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(STORE, el("key").value.trim());
      el("key").value = "";
      start();
    });
    el("period").addEventListener("change", (event) => loadPeriod(event.target.value));
    el("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(STORE);
      show("login");
      document.body.dataset.state = "login";
    });
    el("csv-supply").addEventListener("click", () => downloadCsv(
      `/v1/stats/supply-demand?period=${encodeURIComponent(state.period)}&level=county&format=csv`,
      `supply-demand-${state.period}-county.csv`));
    el("csv-transfers").addEventListener("click", () => downloadCsv(
      `/v1/stats/transfers?period=${encodeURIComponent(state.period)}&format=csv`,
      `transfers-${state.period}.csv`));
    window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
    window.addEventListener("hashchange", () => {  // a key handed over to an already open page
      if (/key=/.test(window.location.hash)) {
        takeKeyFromUrl();
        start();
      }
    });
    if (key()) {
      start();
    } else {
      show("login");
      document.body.dataset.state = "login";
    }
  });
})();
