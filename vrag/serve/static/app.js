// The vrag page: search, watch the cited moment, ask, and manage the index. Plain JS, no build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const player = $("#player");
const KEY = "vrag-api-key";
const MARKER = /\[([^\[\]]+?)\s+(\d+(?::\d{2}){1,2}(?:\.\d+)?)\s*[–—-]\s*(\d+(?::\d{2}){1,2}(?:\.\d+)?)\]/g;

// ------------------------------------------------------------------------------------------ helpers

function fmt(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${String(m).padStart(2, "0")}:${r}`;
}

function seconds(stamp) {
  return stamp.split(":").reduce((total, part) => total * 60 + parseFloat(part), 0);
}

function baseName(path) {
  return path.split(/[\\/]/).pop();
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

class ApiError extends Error {}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = Object.assign({}, options, { body: JSON.stringify(options.json) });
  }
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401 && !options.retried) {
    await askForKey();
    return api(path, Object.assign({}, options, { retried: true }));
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new ApiError(detail);
  }
  return options.raw ? response : response.json();
}

function askForKey() {
  const dialog = $("#key-dialog");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      sessionStorage.setItem(KEY, $("#api-key").value.trim());
      resolve();
    }, { once: true });
    if (!dialog.open) dialog.showModal();
  });
}

// ------------------------------------------------------------------------------------------ player

let stopAt = null;
let pendingSeek = null;

function play(url, start, end, label) {
  const src = url.split("#")[0];
  stopAt = end;
  $("#now-playing").textContent = `${label} · ${fmt(start)}–${fmt(end)}`;
  if (player.dataset.src !== src) {
    player.dataset.src = src;
    pendingSeek = start;
    player.src = src;
  } else {
    player.currentTime = start;
  }
  player.play().catch(() => { /* autoplay refused: the user presses play */ });
}

player.addEventListener("loadedmetadata", () => {
  if (pendingSeek !== null) {
    player.currentTime = pendingSeek;
    pendingSeek = null;
  }
});
player.addEventListener("timeupdate", () => {
  if (stopAt !== null && player.currentTime >= stopAt) {
    player.pause();
    stopAt = null;
  }
});

// ------------------------------------------------------------------------------------------ search

function queryTerms(text) {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) || [])];
}

function marked(text, terms) {
  const span = el("span", { class: "text" });
  if (!terms.length) { span.textContent = text; return span; }
  const escaped = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})[\\p{L}\\p{N}]*`, "giu");
  let last = 0;
  for (const m of text.matchAll(re)) {
    span.append(text.slice(last, m.index), el("mark", {}, m[0]));
    last = m.index + m[0].length;
  }
  span.append(text.slice(last));
  return span;
}

function scoreLine(hit) {
  const parts = [`relevance ${hit.score === null ? "–" : hit.score.toFixed(2)}`];
  for (const [channel, value] of Object.entries(hit.channel_scores || {})) {
    parts.push(`${channel} ${value === null ? "–" : value.toFixed(3)}`);
  }
  return parts.join(" · ");
}

function card(hit, terms) {
  const name = baseName(hit.video);
  const button = el("button", {
    class: "card", type: "button",
    "aria-label": `Play ${name} from ${fmt(hit.start)} to ${fmt(hit.end)}`,
    onclick: () => {
      document.querySelectorAll(".card[aria-current]").forEach((c) => c.removeAttribute("aria-current"));
      button.setAttribute("aria-current", "true");
      play(hit.url, hit.start, hit.end, name);
    },
  });
  const image = hit.keyframe_url
    ? el("img", { src: hit.keyframe_url, alt: `Keyframe of ${name} at ${fmt(hit.keyframe ?? hit.start)}`, loading: "lazy" })
    : el("span", { class: "noimg" });
  const body = el("span", {},
    el("span", { class: "meta" }, el("span", { class: "name" }, name),
      el("span", { class: "span" }, `${fmt(hit.start)}–${fmt(hit.end)}`)),
    marked(hit.text || "", terms),
    el("span", { class: "scores" }, scoreLine(hit)));
  button.append(image, body);
  return el("li", {}, button);
}

function searchParams() {
  const params = new URLSearchParams({ q: $("#q").value.trim() });
  const add = (name, value) => { if (value !== "" && value !== null) params.append(name, value); };
  add("k", $("#f-k").value);
  add("video", $("#f-video").value);
  add("after", $("#f-after").value.trim());
  add("before", $("#f-before").value.trim());
  add("channel", $("#f-channel").value.trim());
  add("rerank", $("#f-rerank").value);
  add("mmr", $("#f-mmr").value);
  add("where", $("#f-where").value.trim());
  if ($("#f-merge").checked) params.append("merge", "true");
  return params;
}

async function search(event) {
  event.preventDefault();
  const status = $("#search-status"), list = $("#results");
  status.textContent = "Searching…";
  try {
    const params = searchParams();
    const hits = await api(`/api/search?${params}`);
    const terms = queryTerms(params.get("q"));
    list.replaceChildren(...hits.map((hit) => card(hit, terms)));
    status.textContent = hits.length ? `${hits.length} moments` : "Nothing found.";
  } catch (err) {
    list.replaceChildren();
    status.textContent = `Search failed: ${err.message}`;
  }
}

// ------------------------------------------------------------------------------------------ ask

function chip(citations, name, start, end, text) {
  const cited = citations.find((c) => baseName(c.video) === name && c.start - 0.06 <= start && end <= c.end + 0.06);
  if (!cited) return document.createTextNode(text);
  return el("button", {
    class: "chip", type: "button", "aria-label": `Play ${name} from ${fmt(start)}`,
    onclick: () => play(cited.url, start, end, name),
  }, `${name} ${fmt(start)}`);
}

async function ask(event) {
  event.preventDefault();
  const box = $("#answer");
  box.textContent = "Thinking…";
  try {
    const result = await api("/api/ask", { method: "POST", json: { question: $("#question").value.trim(), k: 5 } });
    const text = result.answer;
    const parts = [];
    let last = 0;
    for (const m of text.matchAll(MARKER)) {
      parts.push(text.slice(last, m.index), chip(result.citations, m[1].trim(), seconds(m[2]), seconds(m[3]), m[0]));
      last = m.index + m[0].length;
    }
    parts.push(text.slice(last));
    box.replaceChildren(el("p", {}, ...parts));
  } catch (err) {
    box.textContent = `No answer: ${err.message}`;
  }
}

// ------------------------------------------------------------------------------------------ videos

async function loadVideos() {
  const videos = await api("/api/videos");
  const rows = videos.map((v) => el("tr", {},
    el("td", { title: v.path }, v.name),
    el("td", { class: "num" }, fmt(v.duration)),
    el("td", { class: "num" }, String(v.segments)),
    el("td", {}, el("button", {
      class: "danger", type: "button", "aria-label": `Delete ${v.name}`,
      onclick: () => remove(v),
    }, "Delete"))));
  $("#videos tbody").replaceChildren(...rows);
  const filter = $("#f-video"), chosen = filter.value;
  filter.replaceChildren(el("option", { value: "" }, "all videos"),
    ...videos.map((v) => el("option", { value: v.video_id }, v.name)));
  filter.value = videos.some((v) => v.video_id === chosen) ? chosen : "";
}

async function remove(video) {
  if (!confirm(`Delete ${video.name} from the index? The file stays on disk.`)) return;
  try {
    await api(`/api/videos/${encodeURIComponent(video.video_id)}`, { method: "DELETE" });
  } catch (err) {
    alert(`Not deleted: ${err.message}`);
  }
  await loadVideos();
}

function showProgress(p) {
  const progress = $("#index-progress");
  progress.value = p.seconds > 0 ? p.seconds_done / p.seconds : p.videos ? p.videos_done / p.videos : 0;
  const eta = p.eta === null ? "" : ` · about ${fmt(p.eta)} left`;
  const now = p.current ? ` · ${p.current}` : "";
  $("#index-status").textContent =
    `${p.videos_done}/${p.videos} videos · ${fmt(p.seconds_done)} of ${fmt(p.seconds)}${eta}${now}`;
}

function showReport(r) {
  $("#index-progress").value = 1;
  const failed = r.failed.map((f) => ` ${baseName(f.path)}: ${f.message}`).join(";");
  const n = r.indexed.length;
  $("#index-status").textContent = `Indexed ${n} video${n === 1 ? "" : "s"} (${r.segments} segments) in ` +
    `${r.seconds.toFixed(1)} s; ${r.skipped.length} already indexed; ${r.failed.length} failed.${failed}`;
}

async function follow(url) {
  const response = await api(url, { raw: true });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const kind = (block.match(/^event: (.*)$/m) || [])[1];
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      if (!kind || data === undefined) continue;
      const payload = JSON.parse(data);
      if (kind === "progress") showProgress(payload);
      else if (kind === "done") showReport(payload);
      else if (kind === "error") $("#index-status").textContent = `Indexing failed: ${payload.detail}`;
    }
  }
}

async function indexPath(event) {
  event.preventDefault();
  const box = $("#index-job");
  box.hidden = false;
  $("#index-progress").value = 0;
  $("#index-status").textContent = "Starting…";
  try {
    const job = await api("/api/index", { method: "POST", json: { paths: [$("#index-path").value.trim()] } });
    await follow(job.events);
  } catch (err) {
    $("#index-status").textContent = `Not indexed: ${err.message}`;
  }
  await loadVideos();
}

// ------------------------------------------------------------------------------------------ tabs

function select(tab) {
  for (const t of document.querySelectorAll("[role=tab]")) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
  }
  tab.focus();
  if (tab.id === "tab-videos") loadVideos().catch((err) => { $("#index-status").textContent = err.message; });
}

function setUpTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (step) select(tabs[(i + step + tabs.length) % tabs.length]);
    });
  });
}

async function start() {
  setUpTabs();
  $("#search-form").addEventListener("submit", search);
  $("#ask-form").addEventListener("submit", ask);
  $("#index-form").addEventListener("submit", indexPath);
  const health = await api("/api/health");
  if (health.auth && !sessionStorage.getItem(KEY)) await askForKey();
  await loadVideos().catch(() => { /* shown when the tab opens */ });
}

start();
