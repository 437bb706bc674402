// Kiosk page for gig-market halls. Plain modern JS, no build step, no third-party code.
// The device's kiosk key is in localStorage (put there by /kiosk/provision); it is sent only as the
// Authorization header. Idle for IDLE_MS → back to the start screen with everything the last person did cleared.
"use strict";

const KEY_STORE = "bashu.kiosk.key";
const START_STORE = "bashu.kiosk.start";
const params = new URLSearchParams(location.search);
const IDLE_MS = Math.max(1, Number(params.get("idle")) || 90) * 1000;
const WARN_MS = Math.min(10000, IDLE_MS / 3);
const PAGE_SIZE = 20;
const REQUEST_TIMEOUT_MS = 8000;
const END_MARGIN_PX = 600;  // the next page is fetched when the end of the list is this close to the screen

const UNIT = { month: "月", day: "天", hour: "小时", piece: "件" };
const WORK_TYPE = { full_time: "全职", daily: "日结", gig: "零工", seasonal: "季节工" };
const CHIPS = [
  { id: "daily", label: "日结" },
  { id: "meals", label: "包吃" },
  { id: "housing", label: "包住" },
  { id: "today", label: "今天开工" },
  { id: "tomorrow", label: "明天开工" },
];
const REASONS = { fake: "虚假招聘", fees: "要交钱", filled: "已经招满" };

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ------------------------------------------------------------------------------------------------ state

const state = {
  key: null,
  start: null,          // {kiosk, trades, districts}
  district: null,       // adcode, or "" for 全部
  chips: new Set(),
  q: "",
  label: "",
  // Results. A search is identified by its generation, which bumps on every new search, reset and "back"; an
  // answer is applied only while its generation is current. The cards on screen (hits) belong to generation
  // `shown`: until a new search's first page arrives, the previous results stay (dimmed), so a failed or slow
  // request never blanks the screen. At most one search request is in flight (`request`); a new search
  // cancels it, and a request clears `request` itself when it ends, whatever the generation by then.
  hits: [],
  total: null,
  cursor: null,         // next_cursor of the last page of generation `shown`
  done: false,          // generation `shown` has no more pages
  shown: 0,
  rendered: 0,          // how many of `hits` are cards in the list
  request: null,        // {generation, controller} of the search request in flight
  failed: false,        // the last request got no answer (network): retried until one comes
  corrected: null,      // query.corrected of generation `shown`
  generation: 0,
  offline: false,
  lastActivity: Date.now(),
  pristine: true,
};

// ---------------------------------------------------------------------------------------------- network

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function setOffline(offline) {
  state.offline = offline;
  $("[data-testid=offline-notice]").hidden = !offline;
}

// `signal` cancels a request the page no longer wants (a newer search): that is not a lost connection and
// throws ApiError(-1). No answer within REQUEST_TIMEOUT_MS, or none at all, is: the offline notice, ApiError(0).
async function api(path, { query = null, method = "GET", body = null, headers = {}, signal = null } = {}) {
  const url = new URL(path, location.origin);
  if (query) {
    for (const [name, value] of Object.entries(query)) {
      if (value === null || value === undefined || value === "") continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, v);
    }
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const cancel = () => controller.abort();
  if (signal) {
    if (signal.aborted) cancel();
    else signal.addEventListener("abort", cancel, { once: true });
  }
  let response;
  let data = null;
  try {
    try {
      response = await fetch(url, {
        method,
        signal: controller.signal,
        headers: {
          Authorization: `Bearer ${state.key}`,
          Accept: "application/json",
          ...(body ? { "Content-Type": "application/json" } : {}),
          ...headers,
        },
        body: body ? JSON.stringify(body) : null,
        cache: "no-store",
      });
      // A success whose body is cut off (or not JSON) is no answer; an error without a problem body is still one.
      if (response.status !== 204) data = await response.json().catch((err) => { if (response.ok) throw err; });
      data = data ?? null;
    } catch (err) {
      if (signal && signal.aborted) throw new ApiError(-1, { detail: "cancelled" });
      setOffline(true);
      throw new ApiError(0, { detail: "network" });
    }
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", cancel);
  }
  setOffline(false);
  if (response.status === 401) {
    showUnprovisioned();
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// ------------------------------------------------------------------------------------------------- views

function show(view) {
  for (const id of ["view-unprovisioned", "view-start", "view-results"]) {
    document.getElementById(id).hidden = id !== view;
  }
}

function showUnprovisioned() {
  closeOverlays();
  show("view-unprovisioned");
}

function closeOverlays() {
  for (const id of ["district-panel", "detail", "report"]) document.getElementById(id).hidden = true;
}

function districtName(adcode) {
  if (!adcode) return "全部地区";
  const found = (state.start?.districts || []).find((d) => d.adcode === adcode);
  return found ? found.name : adcode;
}

function renderDistrictButtons() {
  const name = districtName(state.district);
  $("[data-testid=district-current]").textContent = name;
  for (const node of $$(".district-current-copy")) node.textContent = name;
}

function renderChips() {
  for (const container of [$("[data-testid=chips]"), $("[data-testid=chips-results]")]) {
    container.replaceChildren(...CHIPS.map((chip) => el("button", {
      type: "button", class: "chip", "aria-pressed": state.chips.has(chip.id) ? "true" : "false",
      dataset: { chip: chip.id, testid: `chip-${chip.id}` },
      onclick: () => toggleChip(chip.id),
    }, chip.label)));
  }
}

function toggleChip(id) {
  if (state.chips.has(id)) state.chips.delete(id);
  else {
    state.chips.add(id);
    if (id === "today") state.chips.delete("tomorrow");
    if (id === "tomorrow") state.chips.delete("today");
  }
  state.pristine = false;
  renderChips();
  if (!$("#view-results").hidden) search({ refine: true });
}

function renderTrades() {
  const grid = $("[data-testid=trade-grid]");
  grid.replaceChildren(...state.start.trades.map((trade) => el("button", {
    type: "button", class: "trade", dataset: { code: trade.occupation_code, testid: "trade" },
    onclick: () => { state.q = trade.name; state.label = trade.label; search(); },
  },
  trade.shortage_level === 1 ? el("span", { class: "badge" }, "急缺") : null,
  el("span", { class: "t-label" }, trade.label),
  trade.label !== trade.name ? el("span", { class: "t-name" }, trade.name) : null)));
}

function renderDistrictPanel() {
  const grid = $("[data-testid=district-grid]");
  const options = [{ adcode: "", name: "全部地区" }, ...state.start.districts];
  grid.replaceChildren(...options.map((d) => el("button", {
    type: "button", class: "district", "aria-pressed": (state.district || "") === d.adcode ? "true" : "false",
    dataset: { adcode: d.adcode, testid: "district-option" },
    onclick: () => {
      state.district = d.adcode;
      state.pristine = false;
      $("#district-panel").hidden = true;
      renderDistrictButtons();
      if (!$("#view-results").hidden) search({ refine: true });
    },
  }, d.name, d.distance_km ? el("small", {}, d.distance_km < 1 ? "本地" : `约${Math.round(d.distance_km)}公里`) : null)));
}

function openDistrictPanel() {
  renderDistrictPanel();
  $("#district-panel").hidden = false;
}

// ------------------------------------------------------------------------------------------------ search

function searchQuery(cursor) {
  const query = { q: state.q || null, limit: PAGE_SIZE, cursor: cursor || null };
  if (state.district) query.adcode = state.district;
  const kiosk = state.start?.kiosk;
  if (kiosk && kiosk.lat !== null && kiosk.lng !== null) query.near = `${kiosk.lat},${kiosk.lng}`;
  if (state.chips.has("daily")) query.work_type = "daily";
  const benefits = [];
  if (state.chips.has("meals")) benefits.push("包吃");
  if (state.chips.has("housing")) benefits.push("包住");
  if (benefits.length) query.benefits = benefits;
  if (state.chips.has("today")) query.start_within_days = 0;
  else if (state.chips.has("tomorrow")) query.start_within_days = 1;
  return query;
}

function money(v) {
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

function wageText(wage) {
  const amount = wage.min === wage.max ? money(wage.min) : `${money(wage.min)}-${money(wage.max)}`;
  return [amount, `元/${UNIT[wage.unit] || wage.unit}`];
}

function startText(isoDate) {
  const today = new Date();
  const d = new Date(`${isoDate}T00:00:00`);
  const days = Math.round((d - new Date(today.getFullYear(), today.getMonth(), today.getDate())) / 86400000);
  if (days <= 0) return "今天开工";
  if (days === 1) return "明天开工";
  return `${d.getMonth() + 1}月${d.getDate()}日开工`;
}

function distanceText(hit) {
  if (hit.distance_km === undefined || hit.distance_km === null) return "";
  return hit.distance_km < 1 ? " · 不到1公里" : ` · 约${Math.round(hit.distance_km)}公里`;
}

function jobCard(hit) {
  const [amount, unit] = wageText(hit.wage);
  const start = startText(hit.start_date);
  return el("button", { type: "button", class: "job", role: "listitem", dataset: { id: hit.id, testid: "job-card" },
    onclick: () => openDetail(hit) },
  el("span", { class: "title", dataset: { testid: "job-title" } }, hit.title),
  el("span", { class: "wage", dataset: { testid: "job-wage" } }, amount, el("small", {}, ` ${unit}`)),
  el("span", { class: "headcount" }, `招${hit.headcount}人`),
  el("span", { class: "meta" }, el("b", {}, hit.county?.name || ""), distanceText(hit), " · ",
    WORK_TYPE[hit.work_type] || hit.work_type),
  el("span", { class: "tags" },
    el("span", { class: `tag${start === "今天开工" ? " today" : ""}` }, start),
    ...(hit.benefits || []).map((b) => el("span", { class: "tag" }, b))));
}

function renderSummary() {
  // A typed homophone mistake (电悍工) is searched as corrected (电焊工): say what was searched.
  const typed = state.shown === state.generation && state.label === state.q;
  const what = (typed && state.corrected) || state.label || state.q || "全部工种";
  const where = districtName(state.district);
  const summary = $("[data-testid=results-summary]");
  const count = state.total === null ? "" : `，共 ${state.total} 个岗位`;
  summary.replaceChildren(el("b", {}, where), " · ", el("b", {}, what), count);
}

function renderResults() {
  const list = $("[data-testid=results]");
  const current = state.shown === state.generation;
  if (state.rendered === 0 || state.rendered > state.hits.length) {
    list.replaceChildren();
    state.rendered = 0;
  }
  if (state.hits.length) {
    list.append(...state.hits.slice(state.rendered).map(jobCard));
  } else if (current && !state.request && !state.failed) {
    list.replaceChildren(el("div", { class: "empty", dataset: { testid: "no-results" } },
      "暂时没有符合条件的岗位。试试换个地区，或少选几个条件。"));
  }
  state.rendered = state.hits.length;
  list.classList.toggle("stale", !current);
  list.setAttribute("aria-busy", state.request ? "true" : "false");
  const end = $("[data-testid=results-end]");
  if (state.request) end.textContent = "正在加载……";
  else if (state.failed) end.textContent = "网络中断，稍后自动重试";
  else end.textContent = current && state.done && state.hits.length ? "没有更多了" : "";
  renderSummary();
}

function cancelSearch() {
  state.generation += 1;
  if (state.request) state.request.controller.abort();
  state.request = null;
  state.failed = false;
  clearTimeout(retryTimer);
}

// `refine`: a chip or the district changed on the results screen; the cards stay (dimmed) until the new ones
// come, and stay on screen when the network is out. A new trade or phrase starts from an empty list.
function search({ refine = false } = {}) {
  state.pristine = false;
  hideSuggestions();
  cancelSearch();
  if (!refine) {
    state.hits = [];
    state.rendered = 0;
  }
  state.total = null;
  show("view-results");
  renderDistrictButtons();
  renderChips();
  window.scrollTo(0, 0);
  return fetchPage();
}

// The next page of the current search (its first page when the cards on screen belong to an older one).
function loadMore() {
  if (state.shown === state.generation && state.done) return Promise.resolve();
  return fetchPage();
}

let retryTimer = null;
const RETRY_MS = 3000;

async function fetchPage() {
  if (state.request || $("#view-results").hidden) return;
  const generation = state.generation;
  const first = state.shown !== generation;
  const controller = new AbortController();
  const request = { generation, controller };
  state.request = request;
  clearTimeout(retryTimer);
  renderResults();
  try {
    const data = await api("/v1/kiosk/search", { query: searchQuery(first ? null : state.cursor),
      signal: controller.signal });
    if (generation !== state.generation) return;
    const hits = data.hits || [];
    if (first) {
      state.hits = [];
      state.rendered = 0;
      state.shown = generation;
    }
    state.hits.push(...hits);
    if (first) state.corrected = data.query?.corrected || null;
    state.total = typeof data.total === "number" ? data.total : state.total;
    state.cursor = data.next_cursor || null;
    state.done = !state.cursor || hits.length === 0;
    state.failed = false;
  } catch (err) {
    if (generation !== state.generation) return;
    if (err.status === 0) {
      // Lost connectivity: keep what is on screen and try again shortly (and at once when back online).
      state.failed = true;
      retryTimer = setTimeout(retrySearch, RETRY_MS);
    } else {
      // Refused (e.g. 422): this search has nothing to show.
      state.failed = false;
      state.hits = [];
      state.rendered = 0;
      state.shown = generation;
      state.done = true;
    }
  } finally {
    if (state.request === request) state.request = null;
    if (generation === state.generation) {
      renderResults();
      if (!state.failed) loadMoreIfNearEnd();
    }
  }
}

function retrySearch() {
  if (state.failed && !state.request && !$("#view-results").hidden) fetchPage();
}

// The IntersectionObserver reports changes only: when a page leaves the end of the list in view, ask again.
function loadMoreIfNearEnd() {
  if ($("#view-results").hidden || state.request || state.shown !== state.generation || state.done) return;
  const end = $("[data-testid=results-end]").getBoundingClientRect();
  if (end.top < window.innerHeight + END_MARGIN_PX) loadMore();
}

// ------------------------------------------------------------------------------------------------ detail

function fact(label, value) {
  return value ? el("tr", {}, el("th", {}, label), el("td", {}, value)) : null;
}

function renderDetail(job, qrSvg) {
  const [amount, unit] = wageText(job.wage);
  const contact = job.contact || {};
  const qr = el("div", { class: "qr", dataset: { testid: "job-qr" } });
  if (qrSvg) {
    // Server-made SVG of the posting's public link (segno): markup we generated, not user text.
    qr.innerHTML = qrSvg;
    qr.append(el("div", {}, "手机扫码，带走这个岗位"));
  } else {
    qr.append(el("div", {}, "网络中断，二维码暂不可用"));
  }
  const body = $("[data-testid=detail-body]");
  body.replaceChildren(
    el("h1", { dataset: { testid: "detail-title" } }, job.title),
    el("div", { class: "wage" }, amount, el("small", {}, ` ${unit}`)),
    el("table", { class: "facts" },
      fact("地点", `${job.county?.name || ""}${job.address ? ` ${job.address}` : ""}${distanceText(job)}`),
      fact("开工", `${startText(job.start_date)}${job.end_date ? `，到 ${job.end_date}` : ""}`),
      fact("类型", WORK_TYPE[job.work_type] || job.work_type),
      fact("人数", `招 ${job.headcount} 人`),
      fact("待遇", (job.benefits || []).join("、") || "面议"),
      fact("工种", job.occupation_name || "")),
    job.description ? el("p", { class: "desc" }, job.description) : null,
    el("div", { class: "contact-qr" },
      el("div", {},
        el("div", { class: "employer", dataset: { testid: "detail-employer" } }, contact.employer || "用人单位"),
        el("div", { class: "phone", dataset: { testid: "detail-phone" } }, contact.phone || "到现场咨询"),
        contact.name ? el("div", {}, `联系人：${contact.name}`) : null),
      qr),
    el("button", { type: "button", class: "btn-report", dataset: { testid: "report-button" },
      onclick: () => openReport(job) }, "⚠ 举报这个岗位（虚假、收费、已招满）"),
  );
}

async function openDetail(hit) {
  state.pristine = false;
  state.detailId = hit.id;
  renderDetail(hit, null);
  $("#detail").hidden = false;
  $(".detail-panel").scrollTop = 0;
  try {
    const job = await api(`/v1/kiosk/jobs/${encodeURIComponent(hit.id)}`);
    if (state.detailId === hit.id && !$("#detail").hidden) renderDetail(job, job.qr_svg);
  } catch (err) {
    if (err.status === 404 && state.detailId === hit.id) {
      $("[data-testid=detail-phone]").textContent = "该岗位已停止招聘";
    }
  }
}

function openReport(job) {
  state.reportJob = job;
  const result = $("[data-testid=report-result]");
  result.textContent = "";
  result.className = "report-result";
  for (const b of $$(".btn-reason")) b.disabled = false;
  $("#report").hidden = false;
}

function newIdempotencyKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

async function sendReport(reason) {
  const job = state.reportJob;
  if (!job) return;
  const result = $("[data-testid=report-result]");
  for (const b of $$(".btn-reason")) b.disabled = true;
  result.className = "report-result";
  result.textContent = "正在提交……";
  try {
    await api("/v1/reports", {
      method: "POST",
      body: { target: { kind: "job", id: job.id }, reason, text: `零工市场终端举报：${REASONS[reason]}` },
      headers: { "Idempotency-Key": newIdempotencyKey() },
    });
    result.classList.add("ok");
    result.textContent = "已收到举报，谢谢您！人社部门会核查处理。";
  } catch (err) {
    result.classList.add("err");
    result.textContent = err.status === 0 ? "网络中断，请稍后再试。" : "提交没有成功，请稍后再试或告诉工作人员。";
    for (const b of $$(".btn-reason")) b.disabled = false;
  }
}

// -------------------------------------------------------------------------------------------- typeahead

let suggestTimer = null;
let suggestGeneration = 0;

function hideSuggestions() {
  const list = $("[data-testid=suggestions]");
  list.hidden = true;
  list.replaceChildren();
}

function suggestionItems(data) {
  const raw = Array.isArray(data) ? data : (data?.items || data?.suggestions || data?.hits || []);
  return raw.map((item) => (typeof item === "string" ? { text: item } : item)).map((item) => ({
    text: item.text || item.name || item.label || item.value || "",
    kind: item.kind || item.type || (item.adcode ? "district" : "trade"),
    adcode: item.adcode || null,
  })).filter((item) => item.text);
}

async function suggest(text) {
  const generation = ++suggestGeneration;
  try {
    const data = await api("/v1/kiosk/suggest", { query: { q: text } });
    if (generation !== suggestGeneration || $("#q").value.trim() !== text) return;
    const items = suggestionItems(data).slice(0, 8);
    const list = $("[data-testid=suggestions]");
    list.replaceChildren(...items.map((item) => el("li", {
      role: "option", dataset: { testid: "suggestion" },
      onclick: () => pickSuggestion(item),
    }, el("span", { class: "kind" }, item.kind === "district" || item.kind === "region" ? "地区" : "工种"), item.text)));
    list.hidden = items.length === 0;
  } catch (_) {
    // typeahead is a convenience: silently nothing
  }
}

function pickSuggestion(item) {
  hideSuggestions();
  if ((item.kind === "district" || item.kind === "region") && item.adcode) {
    state.district = item.adcode;
    if (!state.start.districts.some((d) => d.adcode === item.adcode)) {
      state.start.districts.push({ adcode: item.adcode, name: item.text });
    }
    $("#q").value = "";
    renderDistrictButtons();
    state.q = "";
    state.label = "";
  } else {
    $("#q").value = item.text;
    state.q = item.text;
    state.label = item.text;
  }
  search();
}

// --------------------------------------------------------------------------------------------- idle reset

function touch() {
  state.lastActivity = Date.now();
  $("[data-testid=idle-warning]").hidden = true;
}

function resetToStart() {
  cancelSearch();
  state.chips.clear();
  state.district = state.start?.kiosk?.adcode || "";
  state.q = "";
  state.label = "";
  state.hits = [];
  state.rendered = 0;
  state.total = null;
  state.cursor = null;
  state.done = false;
  state.corrected = null;
  state.reportJob = null;
  state.detailId = null;
  state.pristine = true;
  closeOverlays();
  hideSuggestions();
  $("#q").value = "";
  $("[data-testid=results]").replaceChildren();
  $("[data-testid=detail-body]").replaceChildren();
  $("[data-testid=report-result]").textContent = "";
  $("[data-testid=idle-warning]").hidden = true;
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  renderChips();
  renderDistrictButtons();
  show("view-start");
  window.scrollTo(0, 0);
  document.body.dataset.resetCount = String(Number(document.body.dataset.resetCount || 0) + 1);
}

function idleTick() {
  const idle = Date.now() - state.lastActivity;
  if (!state.start || $("#view-unprovisioned").hidden === false) return;
  const dirty = !state.pristine || $("#q").value !== "";
  if (!dirty) return;
  if (idle >= IDLE_MS) resetToStart();
  else $("[data-testid=idle-warning]").hidden = idle < IDLE_MS - WARN_MS;
}

// ------------------------------------------------------------------------------------------------- start

function tickClock() {
  const now = new Date();
  $("[data-testid=clock]").textContent =
    `${String(now.getHours()).padStart(2, "0")}:${String(now.getMinutes()).padStart(2, "0")}`;
}

async function loadStart() {
  try {
    state.start = await api("/v1/kiosk/start");
    try { localStorage.setItem(START_STORE, JSON.stringify(state.start)); } catch (_) { /* full */ }
  } catch (err) {
    if (err.status === 401 || err.status === 403) { showUnprovisioned(); return false; }
    const cached = localStorage.getItem(START_STORE);
    if (!cached) throw err;
    state.start = JSON.parse(cached);
  }
  return true;
}

function wireEvents() {
  for (const type of ["pointerdown", "keydown", "wheel", "touchstart", "input", "scroll"]) {
    window.addEventListener(type, touch, { capture: true, passive: true });
  }
  $("[data-testid=search-form]").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#q").value.trim();
    state.q = text;
    state.label = text;
    search();
  });
  $("#q").addEventListener("input", () => {
    state.pristine = false;
    clearTimeout(suggestTimer);
    const text = $("#q").value.trim();
    if (!text) { hideSuggestions(); return; }
    suggestTimer = setTimeout(() => suggest(text), 150);
  });
  $("[data-testid=district-button]").addEventListener("click", openDistrictPanel);
  $("[data-testid=district-button-results]").addEventListener("click", openDistrictPanel);
  $("[data-testid=back-button]").addEventListener("click", () => {
    cancelSearch();
    show("view-start");
  });
  for (const button of $$("[data-close]")) {
    button.addEventListener("click", () => { button.closest(".overlay").hidden = true; });
  }
  for (const button of $$(".btn-reason")) {
    button.addEventListener("click", () => sendReport(button.dataset.reason));
  }
  for (const overlay of $$(".overlay")) {
    overlay.addEventListener("click", (event) => { if (event.target === overlay) overlay.hidden = true; });
  }
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMoreIfNearEnd();
  }, { rootMargin: `${END_MARGIN_PX}px` }).observe($("[data-testid=results-end]"));
  window.addEventListener("online", () => {
    setOffline(false);
    retrySearch();
  });
  window.addEventListener("offline", () => setOffline(true));
}

async function main() {
  tickClock();
  setInterval(tickClock, 10000);
  wireEvents();
  state.key = localStorage.getItem(KEY_STORE);
  if (!state.key) { showUnprovisioned(); return; }
  let ok = false;
  for (let attempt = 0; attempt < 30 && !ok; attempt += 1) {
    try { ok = await loadStart(); if (!ok) return; } catch (_) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  if (!ok) return;
  $("[data-testid=kiosk-place]").textContent = state.start.kiosk?.name ? `本机位置：${state.start.kiosk.name}` : "";
  state.district = state.start.kiosk?.adcode || "";
  renderTrades();
  resetToStart();
  document.body.dataset.ready = "1";
  setInterval(idleTick, 500);
}

document.addEventListener("DOMContentLoaded", () => { main(); });
