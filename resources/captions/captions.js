// The live caption page: follows the session through Server-Sent Events ("events" next to this page).
// Read-only; no framework. Text goes into the page with textContent only, never as HTML.
// Every event of the session carries an id: the browser's own reconnect sends Last-Event-ID and the app
// resumes right after it; when the browser gives up (the app was away too long) the page opens a new
// stream with ?last=<id>. "closed" (sharing turned off) ends the stream for good: no endless reconnects.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const obs = params.get("layout") === "obs";
  const store = {
    get(key, fallback) { try { return localStorage.getItem("captions." + key) ?? fallback; } catch (e) { return fallback; } },
    set(key, value) { try { localStorage.setItem("captions." + key, value); } catch (e) { /* private mode */ } },
  };
  const $ = (id) => document.getElementById(id);
  const el = {
    status: $("status"), language: $("language"), both: $("both"), turns: $("turns"), live: $("live"),
    waiting: $("waiting"), notice: $("notice"), message: $("message"), follow: $("follow"), theme: $("theme"),
  };
  const RECENT = Math.max(1, Math.min(5, parseInt(params.get("lines") || "2", 10) || 2));  // OBS: turns shown
  const GIVE_UP_MS = 5 * 60 * 1000;  // unreachable this long: stop trying and say so

  let languages = [];  // [{code, name, native}] of the session
  let turns = new Map();  // turn index -> {text, at, translations: {code: {status, text}}, node}
  let chosen = params.get("lang") || store.get("language", "");
  let withOriginal = params.has("original") ? params.get("original") === "1" : store.get("both", "0") === "1";
  let size = parseFloat(params.get("size") || store.get("size", obs ? "2.5" : "1.75")) || 1.75;
  let theme = store.get("theme", "auto");
  let following = true;
  let lastId = null;
  let source = null;
  let failingSince = null;
  let ended = false;
  let noticeRead = false;  // the reader closed the plain-HTTP notice: not again until a reload

  // --- look --------------------------------------------------------------------------------------

  function applyLook() {
    document.documentElement.style.setProperty("--size", size + "rem");
    if (theme === "auto") document.documentElement.removeAttribute("data-theme");
    else document.documentElement.setAttribute("data-theme", theme);
    el.theme.textContent = "Theme: " + theme;
    el.both.checked = withOriginal;
    el.both.disabled = chosen === "original";
    el.follow.setAttribute("aria-pressed", String(following));
    el.follow.textContent = following ? "Following" : "Follow";
  }

  function setStatus(text, live) {
    el.status.textContent = text;
    el.status.classList.toggle("on-air", Boolean(live));
  }

  function showMessage(text) {
    el.message.textContent = text;
    el.message.hidden = !text;
  }

  // --- languages ---------------------------------------------------------------------------------

  function setLanguages(list) {
    languages = list;
    const previous = chosen;
    el.language.replaceChildren();
    const original = new Option("Original", "original");
    el.language.add(original);
    for (const lang of languages) {
      el.language.add(new Option(lang.native === lang.name ? lang.name : lang.native + " (" + lang.name + ")", lang.code));
    }
    const codes = languages.map((l) => l.code);
    if (!previous || (previous !== "original" && !codes.includes(previous))) {
      const mine = (navigator.language || "").slice(0, 2).toLowerCase();
      chosen = codes.includes(previous) ? previous : codes.find((c) => c === mine) || codes[0] || "original";
    }
    el.language.value = chosen;
    applyLook();
  }

  // --- the transcript ----------------------------------------------------------------------------

  function renderTurn(index) {
    const turn = turns.get(index);
    const node = turn.node;
    node.replaceChildren();
    const showOriginal = chosen === "original" || withOriginal;
    if (showOriginal) {
      const p = document.createElement("p");
      p.className = "original" + (chosen === "original" ? "" : " secondary");
      p.textContent = turn.text;
      node.append(p);
    }
    if (chosen !== "original") {
      const tr = turn.translations[chosen];
      const p = document.createElement("p");
      p.className = "translation";
      p.lang = chosen;
      if (tr && tr.status === "done") p.textContent = tr.text;
      else if (tr && tr.status === "failed") { p.textContent = "(not translated)"; p.classList.add("failed"); }
      else { p.textContent = "…"; p.classList.add("pending"); }
      node.append(p);
    }
  }

  function renderAll() {
    for (const index of turns.keys()) renderTurn(index);
    el.live.classList.toggle("foreign", chosen !== "original" && !withOriginal);
    markRecent();
    afterChange();
  }

  function markRecent() {
    const nodes = el.turns.querySelectorAll(".turn");
    nodes.forEach((n, i) => n.classList.toggle("recent", i >= nodes.length - RECENT));
  }

  function afterChange() {
    if (following && !obs) window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function reset() {
    turns = new Map();
    el.turns.replaceChildren();
    el.live.hidden = true;
    el.live.textContent = "";
    ended = false;
  }

  const handlers = {
    hello(data) {
      el.notice.hidden = !data.plain_http_network || noticeRead;
    },
    session_started(data) {
      reset();
      el.waiting.hidden = true;
      setLanguages(data.languages || []);
      setStatus("Live", true);
      showMessage("");
    },
    languages(data) {
      setLanguages(data.languages || []);
      renderAll();
    },
    state(data) {
      if (!ended) setStatus(data.label, data.state === "live");
    },
    interim(data) {
      el.live.textContent = data.text;
      el.live.hidden = !data.text;
      el.live.classList.toggle("foreign", chosen !== "original" && !withOriginal);
      afterChange();
    },
    turn(data) {
      if (turns.has(data.turn)) return;
      const node = document.createElement("article");
      node.className = "turn";
      node.dataset.turn = String(data.turn);
      turns.set(data.turn, { text: data.text, at: data.at, translations: {}, node });
      el.turns.append(node);
      el.live.textContent = "";
      el.live.hidden = true;
      renderTurn(data.turn);
      markRecent();
      afterChange();
    },
    translation(data) {
      const turn = turns.get(data.turn);
      if (!turn) return;
      turn.translations[data.language] = { status: data.status, text: data.text };
      if (data.language === chosen) { renderTurn(data.turn); afterChange(); }
    },
    gap(data) {
      const p = document.createElement("p");
      p.className = "gap";
      p.textContent = data.at + " · " + data.label;
      el.turns.append(p);
      afterChange();
    },
    session_ended(data) {
      ended = true;
      el.live.hidden = true;
      const p = document.createElement("p");
      p.className = "ended";
      p.textContent = "Session ended (" + data.turns + " turn" + (data.turns === 1 ? "" : "s") +
        "). The next session will appear here by itself.";
      el.turns.append(p);
      setStatus("Session ended", false);
      afterChange();
    },
    closed(data) {
      stop(data.message || "Sharing has stopped.");
    },
    full(data) {
      stop(data.message || "Too many people are following right now.");
      setTimeout(connect, 30000);
    },
  };

  // --- the stream --------------------------------------------------------------------------------

  function stop(text) {
    if (source) source.close();
    source = null;
    setStatus("Not following", false);
    showMessage(text);
  }

  function connect() {
    showMessage("");
    const url = "events" + (lastId !== null ? "?last=" + encodeURIComponent(lastId) : "");
    const es = new EventSource(url);
    source = es;
    for (const kind of Object.keys(handlers)) {
      es.addEventListener(kind, (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
        failingSince = null;
        let data = {};
        try { data = JSON.parse(event.data); } catch (e) { return; }
        handlers[kind](data);
      });
    }
    es.onerror = () => {
      if (source !== es) return;
      failingSince = failingSince || Date.now();
      if (Date.now() - failingSince > GIVE_UP_MS) {
        stop("The captions cannot be reached: the app may have stopped sharing or closed. Reload the page to try again.");
        return;
      }
      setStatus("Reconnecting…", false);
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an answer that was not a stream); try again, from where we were.
        source = null;
        setTimeout(() => { if (source === null) connect(); }, 3000);
      }
    };
  }

  // --- controls ----------------------------------------------------------------------------------

  el.language.addEventListener("change", () => {
    chosen = el.language.value;
    store.set("language", chosen);
    applyLook();
    renderAll();
  });
  el.both.addEventListener("change", () => {
    withOriginal = el.both.checked;
    store.set("both", withOriginal ? "1" : "0");
    renderAll();
  });
  $("smaller").addEventListener("click", () => { size = Math.max(1, size - 0.25); store.set("size", size); applyLook(); });
  $("larger").addEventListener("click", () => { size = Math.min(6, size + 0.25); store.set("size", size); applyLook(); });
  el.theme.addEventListener("click", () => {
    theme = { auto: "light", light: "dark", dark: "auto" }[theme] || "auto";
    store.set("theme", theme);
    applyLook();
  });
  $("notice-ok").addEventListener("click", () => { el.notice.hidden = true; noticeRead = true; });
  el.follow.addEventListener("click", () => { following = !following; applyLook(); afterChange(); });
  // Reading back up stops following (until the button is pressed again); new lines then stay put.
  const unfollow = () => { if (following) { following = false; applyLook(); } };
  window.addEventListener("wheel", (event) => { if (event.deltaY < 0) unfollow(); });
  window.addEventListener("touchmove", unfollow);
  window.addEventListener("keydown", (event) => { if (["ArrowUp", "PageUp", "Home"].includes(event.key)) unfollow(); });

  if (obs) {
    document.documentElement.classList.add("obs");
    document.body.classList.add("obs");
  }
  applyLook();
  connect();
})();
