// inferd console, core: the API client, the token, DOM helpers, the
// hash router and the refresh loop. Pages (pages.js, experiments.js) register
// themselves with Console.route(); charts.js draws with uPlot. Everything the
// server sends is put into the page as text (never as HTML), so names and tags
// cannot inject markup.
"use strict";

const Console = (() => {
  const kTokenKey = "inferd.token";

  // An API answer other than 2xx: the HTTP status and the server's message
  // ({"error"} for inferd's routes, {"error_code", "message"} for MLflow's).
  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code || "";
    }
  }

  // The token (the server's read token or its admin token) is asked for when
  // the server answers 401 or 403, lives in this tab's sessionStorage only and
  // goes with every API request of the tab.
  const token = {
    get: () => sessionStorage.getItem(kTokenKey) || "",
    set: (value) => sessionStorage.setItem(kTokenKey, value),
    clear: () => sessionStorage.removeItem(kTokenKey),
  };

  // fetch() a route with the stored token; resolves with the parsed JSON (or
  // text), rejects with ApiError. `ndjson` parses one JSON value a line.
  // `withHeaders` resolves with {data, headers} instead.
  async function api(path, { method = "GET", body, ndjson = false, withHeaders = false } = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token.get()) headers.Authorization = "Bearer " + token.get();
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, "the server did not answer (" + e.message + ")");
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text || response.statusText;
      let code = "";
      try {
        const data = JSON.parse(text);
        message = data.error || data.message || message;
        code = data.error_code || "";
      } catch (e) {
        // Not JSON: keep the text.
      }
      throw new ApiError(response.status, message, code);
    }
    const data = ndjson ? parseLines(text) : parseJson(text);
    return withHeaders ? { data, headers: response.headers } : data;
  }

  function parseLines(text) {
    return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
  }

  function parseJson(text) {
    if (text === "") return null;
    try {
      return JSON.parse(text);
    } catch (e) {
      return text;
    }
  }

  // The query string of an object, skipping undefined and empty values;
  // arrays repeat the key.
  function query(params) {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || value === null || value === "") continue;
      for (const v of Array.isArray(value) ? value : [value]) q.append(key, String(v));
    }
    const s = q.toString();
    return s ? "?" + s : "";
  }

  // h("a", {href: "#/x", class: "y"}, "text", child...) builds an element.
  // Attributes starting with "on" are listeners; strings become text nodes.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) {
        el.addEventListener(key.slice(2), value);
      } else if (key === "dataset") {
        Object.assign(el.dataset, value);
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // Replaces an element's children.
  function fill(el, ...children) {
    el.replaceChildren();
    return append(el, children);
  }

  // A table: columns [{label, num?}], rows of cells (strings or nodes). A row
  // may be {cells, attrs} to set the <tr>'s attributes.
  function table(columns, rows, { empty = "nothing yet" } = {}) {
    const head = h("thead", {}, h("tr", {}, columns.map((c) =>
      h("th", { class: c.num ? "num" : null, title: c.title }, c.label))));
    const body = h("tbody");
    for (const row of rows) {
      const cells = Array.isArray(row) ? row : row.cells;
      const tr = h("tr", Array.isArray(row) ? {} : row.attrs);
      cells.forEach((cell, i) => tr.append(h("td", { class: columns[i].num ? "num" : null }, cell)));
      body.append(tr);
    }
    if (rows.length === 0) {
      body.append(h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty)));
    }
    return h("table", {}, head, body);
  }

  function card(label, value, extra) {
    return h("div", { class: "card" }, h("div", { class: "label" }, label),
      h("div", { class: "value" }, value), extra);
  }

  function badge(text, kind) {
    return h("span", { class: "badge " + kind }, text);
  }

  // Numbers as people read them: 4 significant digits, no exponent for
  // ordinary magnitudes; "–" for missing values.
  function num(value, digits = 4) {
    if (value === undefined || value === null || Number.isNaN(value)) return "–";
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en-US");
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return value.toExponential(digits - 1);
    return Number(value.toPrecision(digits)).toString();
  }

  function time(ms) {
    if (!ms) return "–";
    const d = new Date(ms);
    return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function showBanner(message, kind = "error") {
    const banner = document.getElementById("banner");
    banner.className = "banner" + (kind === "error" ? "" : " " + kind);
    banner.textContent = message;
    banner.hidden = !message;
  }

  // The banner that asks for a token after a read was refused (401 or 403):
  // kept while it stays refused, so a refresh does not wipe what is typed.
  function askForToken(error) {
    const banner = document.getElementById("banner");
    if (!banner.querySelector("#read-token")) {
      const input = h("input", { type: "password", id: "read-token", autocomplete: "off", "aria-label": "token" });
      banner.replaceChildren(h("span", { class: "why" }), h("form", {
        class: "toolbar",
        onsubmit: (e) => {
          e.preventDefault();
          if (input.value) token.set(input.value);
          input.value = "";
          refreshNow();
        },
      }, h("label", { for: "read-token" }, "Token"), input, h("button", { class: "primary" }, "Use token")));
    }
    banner.className = "banner info";
    banner.querySelector(".why").textContent = error.status === 401
      ? "This server needs its read token (or admin token) for this page: " + error.message
      : "The server refused this token: " + error.message;
    banner.hidden = false;
  }

  function toast(message) {
    const el = h("div", { class: "toast", role: "status" }, message);
    document.body.append(el);
    setTimeout(() => el.remove(), 4000);
  }

  // --- Admin confirmation ------------------------------------------------------
  // Asks to confirm a change, then runs `action()` (which calls api()). When
  // the server wants a token (401) or refuses it (403, a read token), the
  // dialog asks for one and lets the user try again. Resolves with the action's
  // result, or null when cancelled.
  function confirmChange({ title, text, action }) {
    const dialog = document.getElementById("confirm");
    const tokenBox = document.getElementById("confirm-token");
    const tokenInput = document.getElementById("token");
    const tokenWhy = document.getElementById("confirm-token-why");
    const errorEl = document.getElementById("confirm-error");
    const ok = document.getElementById("confirm-ok");
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-text").textContent = text;
    tokenBox.hidden = true;
    errorEl.hidden = true;
    tokenInput.value = token.get();
    return new Promise((resolve) => {
      const onClick = async (event) => {
        event.preventDefault();
        if (!tokenBox.hidden) {
          if (tokenInput.value) token.set(tokenInput.value);
          else token.clear();
        }
        ok.disabled = true;
        errorEl.hidden = true;
        try {
          const result = await action();
          finish(result === undefined ? true : result);
        } catch (e) {
          if (e.status === 401 || e.status === 403) {
            tokenBox.hidden = false;
            tokenWhy.textContent = e.status === 401
              ? "This server needs an admin token for changes."
              : "The server refused this token.";
            tokenInput.focus();
          }
          errorEl.textContent = e.message;
          errorEl.hidden = false;
        } finally {
          ok.disabled = false;
        }
      };
      const onClose = () => finish(null);
      function finish(value) {
        ok.removeEventListener("click", onClick);
        dialog.removeEventListener("close", onClose);
        if (dialog.open) dialog.close();
        resolve(value);
      }
      ok.addEventListener("click", onClick);
      dialog.addEventListener("close", onClose);
      dialog.showModal();
    });
  }

  // --- Routing and refresh -----------------------------------------------------
  const routes = [];
  let current = null;  // {page, state, timer}
  let generation = 0;

  // Registers a page: `pattern` such as "/models/:name/versions/:version";
  // page = {nav, title(params), mount(view, params, query) -> state,
  // refresh(state) -> Promise, interval (ms), unmount?(state)}.
  function route(pattern, page) {
    const names = [];
    const source = pattern.replace(/:(\w+)/g, (_, name) => {
      names.push(name);
      return "([^/]+)";
    });
    routes.push({ regex: new RegExp("^" + source + "$"), names, page });
  }

  function parseHash() {
    const hash = location.hash.replace(/^#/, "") || "/models";
    const [path, search] = hash.split("?");
    for (const r of routes) {
      const m = path.match(r.regex);
      if (!m) continue;
      const params = {};
      r.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      return { page: r.page, params, query: new URLSearchParams(search || "") };
    }
    return null;
  }

  // Whether a refresh may redraw now: the tab is visible, auto-refresh is
  // on and no dialog is open.
  function mayRefresh() {
    return !document.hidden && document.getElementById("auto-refresh").checked &&
      !document.getElementById("confirm").open;
  }

  async function refresh(which) {
    if (!current || current !== which) return;
    const mine = generation;
    try {
      await current.page.refresh(current.state);
      if (mine !== generation) return;
      showBanner("");
      document.getElementById("updated").textContent =
        "updated " + new Date().toLocaleTimeString("en-GB");
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    } catch (e) {
      if (mine !== generation) return;
      if (e.status === 401 || e.status === 403) askForToken(e);
      else showBanner(e.message || String(e));
    }
  }

  function schedule(which) {
    if (!which.page.interval) return;
    which.timer = setTimeout(async () => {
      if (current !== which) return;
      if (mayRefresh()) await refresh(which);
      schedule(which);
    }, which.page.interval);
  }

  async function navigate() {
    ++generation;
    if (current) {
      clearTimeout(current.timer);
      if (current.page.unmount) current.page.unmount(current.state);
    }
    const view = document.getElementById("view");
    fill(view);
    showBanner("");
    const found = parseHash();
    if (!found) {
      current = null;
      fill(view, h("h1", {}, "Not found"), h("p", {}, "No page at ", h("code", {}, location.hash)));
      return;
    }
    for (const a of document.querySelectorAll("header [data-nav]")) {
      a.classList.toggle("active", a.dataset.nav === found.page.nav);
    }
    document.title = found.page.title(found.params) + " - inferd";
    const state = found.page.mount(view, found.params, found.query);
    current = { page: found.page, state, timer: null };
    const mine = current;
    await refresh(mine);
    schedule(mine);
  }

  // Redraws the current page at once (after a change the user made).
  function refreshNow() {
    if (current) return refresh(current);
    return Promise.resolve();
  }

  // Pages register from their scripts; the first page is drawn once all have run.
  document.addEventListener("DOMContentLoaded", () => {
    window.addEventListener("hashchange", navigate);
    navigate();
  });

  return {
    ApiError, api, query, token, h, append, fill, table, card, badge, num, time,
    showBanner, toast, confirmChange, route, refreshNow,
  };
})();
