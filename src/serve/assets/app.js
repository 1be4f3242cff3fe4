// wit-cache settings page: deleting and clearing through the JSON API, then showing the result.
//
// The server renders everything, numbers and labels included; this script formats nothing.
// After a change it fetches the same page again and swaps in the regions marked data-swap
// (the storage card, the list, the charts), so the page shows what a reload would, without
// one. It never puts a string into innerHTML: dialogs are filled with textContent and with
// copies of nodes the server rendered (keys there are escaped, isolated and have their
// direction controls made visible). The admin token lives in sessionStorage: typed once,
// kept for this tab, gone when the tab closes.
"use strict";

(function () {
  const body = document.body;
  const repo = body.dataset.repo;
  const adminOn = body.dataset.admin === "on";
  const TOKEN_KEY = "wit-cache-admin-token";

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

  // ---- admin token ------------------------------------------------------------------------
  function storedToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (_) {
      return "";
    }
  }

  let memoryToken = storedToken();

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
      throw Object.assign(new Error(message), {
        status: response.status,
        denied: doc && doc.denied,
      });
    }
    return doc;
  }

  // ---- showing the result of a change ---------------------------------------------------------
  // The page again, as the server renders it now; its data-swap regions replace ours. A repo
  // whose last entry (and restore history) went is a 404 that still carries the empty regions.
  let refreshing = null;
  async function refresh() {
    if (refreshing) return refreshing;
    const wrap = $("cache-list");
    if (wrap) wrap.setAttribute("aria-busy", "true");
    const loading = $("loading");
    const slow = setTimeout(() => loading && (loading.hidden = false), 150);
    refreshing = (async () => {
      try {
        let response;
        try {
          response = await fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
        } catch (_) {
          throw new Error("The server cannot be reached.");
        }
        const html = await response.text();
        const fresh = new DOMParser().parseFromString(html, "text/html");
        if (!fresh.getElementById("cache-list")) {
          throw new Error("the server answered " + response.status);
        }
        document.querySelectorAll("[data-swap][id]").forEach((old) => {
          const next = fresh.getElementById(old.id);
          if (next) old.replaceWith(document.adoptNode(next));
        });
        // The view shown may have moved (the last page emptied): let the address say which.
        const shown = $("cache-list").dataset.url;
        if (shown && shown !== location.pathname + location.search) history.replaceState(null, "", shown);
        applyAccess();
      } catch (err) {
        toast("error", "Could not load the caches: " + err.message);
      } finally {
        clearTimeout(slow);
        const now = $("cache-list");
        if (now) now.setAttribute("aria-busy", "false");
        const stillLoading = $("loading");
        if (stillLoading) stillLoading.hidden = true;
        refreshing = null;
      }
    })();
    return refreshing;
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

  // A copy of what the server rendered for a user string (a key, a scope, the repo).
  function copyOf(selector, within) {
    const node = within.querySelector(selector);
    return node ? node.cloneNode(true) : document.createTextNode("");
  }

  let pending = null; // the row whose deletion the dialog asks about

  function askDelete(button) {
    const li = button.closest(".cache-item");
    if (!li) return;
    pending = li;
    $("delete-key").replaceChildren(copyOf(".cache-key bdi", li));
    const scope = li.querySelector(".m-scope bdi");
    $("delete-scope").replaceChildren(
      scope ? scope.cloneNode(true) : document.createTextNode("none (saved without a scope)"),
    );
    $("delete-size").textContent = li.querySelector(".m-size").textContent;
    const dialog = $("confirm-delete");
    dialog.returnValue = "";
    dialog.showModal();
  }

  async function deleteOne(li) {
    const rows = Array.from(document.querySelectorAll(".cache-item"));
    const position = rows.indexOf(li);
    const button = li.querySelector(".btn-delete");
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    // The id names the entry; key, scope and version make sure it is still the one shown.
    const query = { repo, id: li.dataset.id, key: li.dataset.key, version: li.dataset.version };
    if (li.dataset.scope) query.scope = li.dataset.scope;
    try {
      await api("DELETE", { path: "caches", query });
      // The names as the row shows them (direction controls made visible), not the raw data.
      const scope = li.querySelector(".m-scope");
      toast(
        "success",
        "Cache deleted: " + li.querySelector(".cache-key").textContent + (scope ? " (scope " + scope.textContent + ")" : ""),
      );
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
      toast("success", "Cleared " + doc.deleted + (doc.deleted === 1 ? " cache" : " caches"));
    } catch (err) {
      toast("error", err.message);
      denied(err);
    } finally {
      button.removeAttribute("aria-busy");
    }
    await refresh();
    $("list-title").focus();
  }

  function readOnly(button) {
    if (button.getAttribute("aria-disabled") === "true") {
      toast("info", readOnlyReason());
      return true;
    }
    return false;
  }

  // ---- wiring -------------------------------------------------------------------------------
  if (!repo) return; // the overview page needs no script

  // The list and the storage card are swapped after changes: listen above them.
  document.addEventListener("click", (event) => {
    const del = event.target.closest(".btn-delete");
    if (del) {
      if (del.getAttribute("aria-busy") === "true" || readOnly(del)) return;
      askDelete(del);
      return;
    }
    const clear = event.target.closest("#clear-all");
    if (clear && !clear.disabled) {
      if (clear.getAttribute("aria-busy") === "true" || readOnly(clear)) return;
      const n = clear.dataset.count || "0";
      const text = $("confirm-text");
      text.replaceChildren(
        "This deletes " + (n === "1" ? "the only cache" : "all " + n + " caches") + " of ",
        copyOf(".repo-name bdi", document),
        ", not only the ones shown. The next workflow runs start without them.",
      );
      const dialog = $("confirm-clear");
      dialog.returnValue = "";
      dialog.showModal();
    }
  });

  const deleteDialog = $("confirm-delete");
  deleteDialog.addEventListener("close", () => {
    const li = pending;
    pending = null;
    if (!li || !li.isConnected) return;
    if (deleteDialog.returnValue === "confirm") deleteOne(li);
    else li.querySelector(".btn-delete").focus();
  });

  const clearDialog = $("confirm-clear");
  clearDialog.addEventListener("close", () => {
    if (clearDialog.returnValue === "confirm") clearAll();
    else if ($("clear-all")) $("clear-all").focus();
  });

  $("refresh").addEventListener("click", () => refresh());

  // A new sort applies at once; the filter applies on Enter or Apply (and starts at page 1).
  const sort = $("sort");
  if (sort) sort.addEventListener("change", () => sort.form.requestSubmit());

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
