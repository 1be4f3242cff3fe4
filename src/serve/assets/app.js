// wit-cache settings page: deleting, clearing and refreshing through the JSON API.
//
// The server renders the page; this script only re-renders the stats and the list after a
// change. It builds DOM nodes with textContent (keys are user data: never innerHTML), cloning
// the row <template> the server rendered. The admin token lives in sessionStorage: typed once,
// kept for this tab, gone when the tab closes.
"use strict";

(function () {
  const body = document.body;
  const repo = body.dataset.repo;
  const adminOn = body.dataset.admin === "on";
  const TOKEN_KEY = "wit-cache-admin-token";
  // Ages are computed against the server's clock (the page says when it was rendered).
  const clockSkew = body.dataset.now ? Number(body.dataset.now) - Date.now() : 0;

  const $ = (id) => document.getElementById(id);

  // ---- toasts ---------------------------------------------------------------------------
  function toast(kind, message) {
    const box = $("toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast toast-" + kind;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    const text = document.createElement("p");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => el.remove());
    el.append(text, close);
    box.append(el);
    setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
  }

  // ---- formatting (the same rules as the CLI's human output) -----------------------------
  function formatSize(bytes) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let v = Number(bytes) || 0;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i += 1;
    }
    return (Number.isInteger(v) ? v.toFixed(0) : v.toFixed(2)) + " " + units[i];
  }

  function ago(iso) {
    const secs = Math.max(0, Math.floor((Date.now() + clockSkew - Date.parse(iso)) / 1000));
    let n;
    let unit;
    if (secs < 60) return "just now";
    if (secs < 3600) [n, unit] = [Math.floor(secs / 60), "minute"];
    else if (secs < 86400) [n, unit] = [Math.floor(secs / 3600), "hour"];
    else if (secs < 2592000) [n, unit] = [Math.floor(secs / 86400), "day"];
    else [n, unit] = [Math.floor(secs / 2592000), "month"];
    return n + " " + unit + (n === 1 ? "" : "s") + " ago";
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  // ---- admin token ------------------------------------------------------------------------
  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (_) {
      return "";
    }
  }

  function setToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      // Storage blocked: the token lasts until the page is left.
    }
    memoryToken = value;
    applyAccess();
  }

  let memoryToken = token();
  const canDelete = () => adminOn && !!memoryToken;

  function readOnlyReason() {
    return adminOn
      ? "Read-only: enter the admin token above to delete caches."
      : "Read-only: this server was started without an admin token, so nothing can be deleted.";
  }

  function applyAccess() {
    const unlocked = canDelete();
    const form = $("token-form");
    const done = $("unlocked");
    if (form) form.hidden = unlocked;
    if (done) done.hidden = !unlocked;
    document.querySelectorAll(".btn-delete").forEach((b) => setAllowed(b, unlocked));
    const clear = $("clear-all");
    if (clear) setAllowed(clear, unlocked);
  }

  // Read-only buttons stay focusable (aria-disabled) so that keyboard and screen-reader users
  // can reach them and learn why they do nothing.
  function setAllowed(button, allowed) {
    if (allowed) {
      button.removeAttribute("aria-disabled");
      button.removeAttribute("aria-describedby");
    } else {
      button.setAttribute("aria-disabled", "true");
      button.setAttribute("aria-describedby", "readonly-hint");
    }
  }

  // ---- API ----------------------------------------------------------------------------------
  async function api(method, params) {
    const url = "/api/v1/" + params.path + "?" + new URLSearchParams(params.query).toString();
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers.Authorization = "Bearer " + memoryToken;
    let response;
    try {
      response = await fetch(url, { method, headers, cache: "no-store" });
    } catch (_) {
      throw Object.assign(new Error("The server cannot be reached."), { status: 0 });
    }
    let doc = null;
    try {
      doc = await response.json();
    } catch (_) {
      doc = null;
    }
    if (!response.ok) {
      const message = (doc && doc.error) || "The server answered " + response.status + ".";
      // `denied` says which refusal a 403 is (a wrong token, or one for other repos).
      throw Object.assign(new Error(message), {
        status: response.status,
        denied: (doc && doc.denied) || null,
      });
    }
    return doc;
  }

  // ---- rendering ----------------------------------------------------------------------------
  function renderStats(stats) {
    const s = (stats.repos || []).find((r) => r.repo === repo) || stats.total || {};
    $("stat-size").textContent = formatSize(s.size_bytes || 0);
    $("stat-count").textContent = String(s.entries || 0);
    const hits = (s.hits || 0) + (s.partial_hits || 0);
    const attempts = hits + (s.misses || 0);
    $("stat-rate").textContent = attempts ? Math.round(s.hit_rate * 100) + " %" : "—";
    $("stat-rate-sub").textContent = attempts
      ? hits + " of " + plural(attempts, "restore", "restores") + " hit"
      : "No restores yet";
  }

  function renderList(caches) {
    const list = $("cache-items");
    const template = $("cache-item-template");
    const rows = caches.map((c) => {
      const li = template.content.firstElementChild.cloneNode(true);
      li.dataset.key = c.key;
      const key = li.querySelector(".cache-key");
      key.textContent = c.key;
      key.title = c.key;
      li.querySelector(".m-size").textContent = formatSize(c.size_bytes);
      li.querySelector(".m-used").textContent = "Used " + plural(c.access_count, "time", "times");
      const last = li.querySelector(".m-last");
      const when = c.access_count ? c.last_accessed_at : c.created_at;
      last.textContent = (c.access_count ? "Last used " : "Saved ") + ago(when);
      last.title = when;
      const scope = li.querySelector(".m-scope");
      scope.textContent = c.scope || "";
      scope.hidden = !c.scope;
      li.querySelector(".btn-delete").setAttribute("aria-label", "Delete cache " + c.key);
      return li;
    });
    list.replaceChildren(...rows);
    list.hidden = rows.length === 0;
    $("empty").hidden = rows.length !== 0;
    const clear = $("clear-all");
    clear.disabled = rows.length === 0;
    applyAccess();
  }

  let refreshing = null;
  async function refresh() {
    if (refreshing) return refreshing;
    const wrap = $("cache-list");
    const loading = $("loading");
    wrap.setAttribute("aria-busy", "true");
    const slow = setTimeout(() => (loading.hidden = false), 150);
    refreshing = (async () => {
      try {
        const [list, stats] = await Promise.all([
          api("GET", { path: "caches", query: { repo } }).catch(emptyWhenGone({ caches: [] })),
          api("GET", { path: "stats", query: { repo } }).catch(emptyWhenGone({ repos: [] })),
        ]);
        renderList(list.caches || []);
        renderStats(stats);
      } catch (err) {
        toast("error", "Could not load the caches: " + err.message);
      } finally {
        clearTimeout(slow);
        loading.hidden = true;
        wrap.setAttribute("aria-busy", "false");
        refreshing = null;
      }
    })();
    return refreshing;
  }

  // A repo whose last cache (and restore history) is gone is unknown to the API: show it empty.
  function emptyWhenGone(empty) {
    return (err) => {
      if (err.status === 404) return empty;
      throw err;
    };
  }

  // ---- actions ------------------------------------------------------------------------------
  function denied(err) {
    // A token for other repos is kept: it is right on their pages, in this same tab.
    if (err.status === 403 && adminOn && err.denied !== "other-repo") {
      // A wrong (or changed) token: forget it so the form asks again.
      setToken("");
      const input = $("admin-token");
      if (input) input.focus();
    }
  }

  async function deleteOne(button) {
    const li = button.closest(".cache-item");
    const key = li.dataset.key;
    const rows = Array.from(document.querySelectorAll(".cache-item"));
    const position = rows.indexOf(li);
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const doc = await api("DELETE", { path: "caches", query: { repo, key } });
      toast("success", doc.deleted === 1 ? "Cache deleted" : "Deleted " + doc.deleted + " caches");
    } catch (err) {
      if (err.status === 404) toast("success", "That cache was already gone");
      else toast("error", err.message);
      denied(err);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
    await refresh();
    // Keep the keyboard where it was: on the next row's button, or on the list heading.
    const left = document.querySelectorAll(".cache-item .btn-delete");
    const next = left[Math.min(position, left.length - 1)];
    (next || $("list-title")).focus();
  }

  async function clearAll() {
    const button = $("clear-all");
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const doc = await api("DELETE", { path: "caches", query: { repo } });
      toast("success", "Cleared " + plural(doc.deleted, "cache", "caches"));
    } catch (err) {
      toast("error", err.message);
      denied(err);
    } finally {
      button.removeAttribute("aria-busy");
    }
    await refresh();
    $("list-title").focus();
  }

  function onReadOnlyClick(event) {
    const button = event.currentTarget;
    if (button.getAttribute("aria-disabled") === "true") {
      event.preventDefault();
      toast("info", readOnlyReason());
      return true;
    }
    return false;
  }

  // ---- wiring -------------------------------------------------------------------------------
  if (!repo) return; // the overview page needs no script

  const list = $("cache-list");
  list.addEventListener("click", (event) => {
    const button = event.target.closest(".btn-delete");
    if (!button || button.getAttribute("aria-busy") === "true") return;
    if (button.getAttribute("aria-disabled") === "true") {
      toast("info", readOnlyReason());
      return;
    }
    deleteOne(button);
  });

  const dialog = $("confirm-clear");
  $("clear-all").addEventListener("click", (event) => {
    if (onReadOnlyClick(event)) return;
    const count = document.querySelectorAll(".cache-item").length;
    $("confirm-text").textContent =
      "This deletes " +
      (count === 1 ? "the only cache" : "all " + count + " caches") +
      " of " +
      repo +
      ". The next workflow runs start without them.";
    dialog.returnValue = "";
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "confirm") clearAll();
    else $("clear-all").focus();
  });

  $("refresh").addEventListener("click", () => refresh());

  const form = $("token-form");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("admin-token");
      const value = input.value.trim();
      if (!value) return;
      input.value = "";
      setToken(value);
      toast("success", "Unlocked: you can delete caches in this tab");
      const lock = $("lock");
      if (lock) lock.focus();
    });
  }
  const lock = $("lock");
  if (lock) {
    lock.addEventListener("click", () => {
      setToken("");
      toast("info", "Locked: the admin token is forgotten");
      const input = $("admin-token");
      if (input) input.focus();
    });
  }

  applyAccess();
})();
