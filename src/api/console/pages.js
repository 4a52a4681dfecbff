// inferd console, pages: models, a model's versions, a version (lineage,
// tags, alias moves), drift and live performance. Each page reads the same
// REST routes as any client (README's route table) and redraws on its own.
"use strict";

(() => {
  const { api, query, h, fill, table, card, badge, num, time } = Console;
  const kMlflow = "/api/2.0/mlflow/";
  const kModelsPerPage = 50;
  const kVersionsPerPage = 50;
  const kRegistryPageSize = 1000;  // MLflow's maximum for registered-models/search
  const kMaxRegistryPages = 100;   // 100,000 models: a bound, not a limit anyone meets
  const kUnitMetrics = new Set(["auc", "accuracy"]);  // plotted on [0, 1]
  // The prediction log is read by ascending time from `since`: the newest
  // records are found by widening a window back from now until it holds
  // enough, reading at most kMaxLogPages pages of kLogPage a window.
  const kLogWindows = ["10s", "1m", "15m", "1h", "24h", "7d", "30d"];
  const kLogPage = 1000;
  const kMaxLogPages = 5;
  const kLatestPredictions = 1000;  // records held for paging, newest first
  const kPredictionsPerPage = 50;
  const kPreviewValues = 4;        // values of a row shown before "…"

  const enc = encodeURIComponent;
  const modelHref = (name) => "#/models/" + enc(name);
  const versionHref = (name, v) => modelHref(name) + "/versions/" + enc(v);

  // --- Data --------------------------------------------------------------------

  // Every registered model (all pages of MLflow's search).
  async function registryModels() {
    const out = [];
    let token = "";
    for (let i = 0; i < kMaxRegistryPages; ++i) {
      const page = await api(kMlflow + "registered-models/search" +
        query({ max_results: kRegistryPageSize, page_token: token }));
      out.push(...(page.registered_models || []));
      token = page.next_page_token;
      if (!token) break;
    }
    return out;
  }

  // One registered model, or null when the registry has none of that name
  // (a model served from a model folder).
  async function registryModel(name) {
    const page = await api(kMlflow + "registered-models/search" +
      query({ filter: `name = '${name}'`, max_results: 1 }));
    return (page.registered_models || [])[0] || null;
  }

  // The repository index by model: {name: {state, reason, loaded: [versions]}}.
  async function servedModels() {
    const index = await api("/v2/repository/index", { method: "POST", body: {} });
    const byName = new Map();
    for (const entry of index) {
      const m = byName.get(entry.name) || { state: entry.state, reason: entry.reason || "", loaded: [] };
      if (entry.version) m.loaded.push(Number(entry.version));
      if (entry.state === "READY") m.state = "READY";
      byName.set(entry.name, m);
    }
    for (const m of byName.values()) m.loaded.sort((a, b) => a - b);
    return byName;
  }

  // V2 metadata of a served model (its default version when `version` is
  // empty): format, runtime and the version the unversioned URL serves.
  async function metadata(name, version) {
    const path = "/v2/models/" + enc(name) + (version ? "/versions/" + enc(version) : "");
    const m = await api(path);
    return {
      version: Number(m.parameters.version),
      format: m.platform,
      runtime: m.parameters.runtime,
      objective: m.parameters.objective,
      outputKind: m.parameters.output_kind,
      iterations: m.parameters.iterations,
      features: m.inputs[0] ? m.inputs[0].shape[1] : undefined,
      versions: m.versions.map(Number),
    };
  }

  function aliasChips(name, aliases, defaultVersion) {
    return aliases.map((a) => h("a", {
      class: "chip" + (Number(a.version) === defaultVersion ? " default" : ""),
      href: versionHref(name, a.version),
      title: `alias ${a.alias} -> version ${a.version}`,
    }, `@${a.alias} → v${a.version}`));
  }

  function stateBadge(state, reason) {
    if (!state) return badge("not served", "none");
    const el = badge(state, state === "READY" ? "ok" : "bad");
    if (reason) el.title = reason;
    return el;
  }

  function modelTabs(name, active) {
    const tab = (key, label, href) =>
      h("a", { href, class: key === active ? "active" : null }, label);
    return h("nav", { class: "tabs" },
      tab("versions", "Versions", modelHref(name)),
      tab("drift", "Drift", modelHref(name) + "/drift"),
      tab("performance", "Live performance", modelHref(name) + "/performance"),
      tab("predictions", "Predictions", modelHref(name) + "/predictions"));
  }

  function pager(state, total, onPage) {
    const pages = Math.max(1, Math.ceil(total / state.perPage));
    state.page = Math.min(state.page, pages - 1);
    return h("div", { class: "pager" },
      h("button", { disabled: state.page === 0, onclick: () => onPage(state.page - 1) }, "‹ Previous"),
      h("span", { class: "muted" }, `page ${state.page + 1} of ${pages}`),
      h("button", { disabled: state.page >= pages - 1, onclick: () => onPage(state.page + 1) }, "Next ›"));
  }

  // --- Models --------------------------------------------------------------------

  Console.route("/models", {
    nav: "models",
    interval: 10000,
    title: () => "Models",
    mount(view) {
      const state = { filter: "", page: 0, perPage: kModelsPerPage, rows: [], body: h("div") };
      const search = h("input", {
        type: "search", placeholder: "filter models", "aria-label": "filter models",
        oninput: () => {
          state.filter = search.value.trim().toLowerCase();
          state.page = 0;
          render(state);
        },
      });
      state.count = h("span", { class: "muted" });
      fill(view, h("h1", {}, "Models"),
        h("div", { class: "toolbar" }, search, state.count),
        state.body);
      return state;
    },
    async refresh(state) {
      const [registered, served] = await Promise.all([registryModels(), servedModels()]);
      const names = new Set([...registered.map((m) => m.name), ...served.keys()]);
      const byName = new Map(registered.map((m) => [m.name, m]));
      state.rows = [...names].sort().map((name) => {
        const r = byName.get(name);
        const latest = r ? Math.max(0, ...r.latest_versions.map((v) => Number(v.version))) : 0;
        return { name, registry: r, served: served.get(name), latest, meta: null };
      });
      // Formats, runtimes and default versions of the models on this page.
      const shown = visible(state);
      await Promise.all(shown.filter((row) => row.served && row.served.state === "READY")
        .map(async (row) => (row.meta = await metadata(row.name))));
      render(state);
    },
  });

  function visible(state) {
    const matching = state.rows.filter((r) => r.name.toLowerCase().includes(state.filter));
    state.matching = matching.length;
    const start = state.page * state.perPage;
    return matching.slice(start, start + state.perPage);
  }

  function render(state) {
    const rows = visible(state);
    state.count.textContent = `${state.matching} of ${state.rows.length} models`;
    const columns = [
      { label: "Model" }, { label: "State" },
      { label: "Unversioned URL serves", title: "/v2/models/{model} answers with this version" },
      { label: "Format" }, { label: "Runtime" }, { label: "Aliases" },
      { label: "Loaded versions" }, { label: "Latest", num: true }, { label: "" },
    ];
    const cells = rows.map((row) => {
      const meta = row.meta;
      const served = row.served;
      const aliases = row.registry ? row.registry.aliases : [];
      return { attrs: { "data-model": row.name }, cells: [
        h("a", { href: modelHref(row.name) }, h("strong", {}, row.name)),
        stateBadge(served && served.state, served && served.reason),
        meta ? h("a", { href: row.registry ? versionHref(row.name, meta.version) : modelHref(row.name),
          class: "default-version" }, "v" + meta.version) : "–",
        meta ? meta.format : "–",
        meta ? meta.runtime : "–",
        aliasChips(row.name, aliases, meta && meta.version),
        served ? served.loaded.map((v) => "v" + v).join(", ") || "–" : "–",
        row.latest ? h("a", { href: versionHref(row.name, row.latest) }, "v" + row.latest) : "–",
        h("span", {}, h("a", { href: modelHref(row.name) + "/drift" }, "drift"), " · ",
          h("a", { href: modelHref(row.name) + "/performance" }, "performance"), " · ",
          h("a", { href: modelHref(row.name) + "/predictions" }, "predictions")),
      ] };
    });
    fill(state.body, table(columns, cells, { empty: "no models match" }),
      pager(state, state.matching, (page) => {
        state.page = page;
        Console.refreshNow();
      }));
  }

  // --- One model: served versions and every registry version ---------------------------

  Console.route("/models/:name", {
    nav: "models",
    interval: 10000,
    title: (p) => p.name,
    mount(view, params) {
      const state = { name: params.name, tokens: [""], page: 0, served: h("div"), versions: h("div") };
      const jump = h("input", { type: "number", min: 1, placeholder: "version", "aria-label": "go to version" });
      const go = h("form", {
        class: "toolbar",
        onsubmit: (e) => {
          e.preventDefault();
          if (jump.value) location.hash = versionHref(state.name, jump.value);
        },
      }, h("label", {}, "Go to version ", jump), h("button", {}, "Open"));
      state.description = h("p", { class: "muted" });
      fill(view, h("h1", {}, state.name, " ", h("span", { class: "sub" }, "model")),
        modelTabs(state.name, "versions"), state.description,
        h("h2", {}, "Served versions"), state.served,
        h("h2", {}, "Registry versions"), go, state.versions);
      return state;
    },
    async refresh(state) {
      const [registered, served] = await Promise.all([registryModel(state.name), servedModels()]);
      const s = served.get(state.name);
      state.description.textContent = registered ? registered.description || "" : "";
      // Served versions, each with its format and runtime.
      let metas = [];
      let defaultVersion = 0;
      if (s && s.state === "READY") {
        defaultVersion = (await metadata(state.name)).version;
        metas = await Promise.all(s.loaded.map((v) => metadata(state.name, String(v))));
      }
      const aliases = registered ? registered.aliases : [];
      fill(state.served, s ? h("div", { class: "served-versions" }, table(
        [{ label: "Version" }, { label: "Unversioned URL" }, { label: "Aliases" }, { label: "Format" },
          { label: "Runtime" }, { label: "Objective" }, { label: "Features", num: true },
          { label: "Iterations", num: true }],
        metas.map((m) => ({ attrs: { "data-version": m.version }, cells: [
          registered ? h("a", { href: versionHref(state.name, m.version) }, "v" + m.version) : "v" + m.version,
          m.version === defaultVersion ? badge("serves /v2/models/" + state.name, "ok") : "",
          aliasChips(state.name, aliases.filter((a) => Number(a.version) === m.version), defaultVersion),
          m.format, m.runtime, m.objective || "–", num(m.features), num(m.iterations),
        ] })), { empty: s.reason ? "not served: " + s.reason : "no version loaded" }))
        : h("p", { class: "muted" }, "This server does not serve this model."));
      if (!registered) {
        fill(state.versions, h("p", { class: "muted" },
          "Not in the registry: served from a model folder."));
        return;
      }
      // Registry versions, newest first, a page at a time.
      const page = await api(kMlflow + "model-versions/search" + query({
        filter: `name = '${state.name}'`, order_by: "version_number DESC",
        max_results: kVersionsPerPage, page_token: state.tokens[state.page],
      }));
      state.tokens[state.page + 1] = page.next_page_token || "";
      const rows = (page.model_versions || []).map((v) => ({ attrs: { "data-version": v.version }, cells: [
        h("a", { href: versionHref(state.name, v.version) }, "v" + v.version),
        time(v.creation_timestamp),
        v.aliases.map((a) => h("span", { class: "chip" }, "@" + a)),
        v.current_stage, v.status,
        v.run_id ? h("a", { class: "mono", href: "#/runs/" + enc(v.run_id) }, v.run_id) : "–",
        h("span", { class: "mono" }, v.source),
      ] }));
      const move = (delta) => {
        state.page += delta;
        Console.refreshNow();
      };
      fill(state.versions,
        h("div", { class: "scroll registry-versions" }, table([{ label: "Version" }, { label: "Created" },
          { label: "Aliases" },
          { label: "Stage" }, { label: "Status" }, { label: "Run" }, { label: "Source" }], rows)),
        h("div", { class: "pager" },
          h("button", { disabled: state.page === 0, onclick: () => move(-1) }, "‹ Newer"),
          h("span", { class: "muted" }, `page ${state.page + 1}`),
          h("button", { disabled: !page.next_page_token, onclick: () => move(1) }, "Older ›")));
    },
  });

  // --- One version: lineage, tags, aliases -------------------------------------------------

  Console.route("/models/:name/versions/:version", {
    nav: "models",
    interval: 15000,
    title: (p) => `${p.name} v${p.version}`,
    mount(view, params) {
      const state = { name: params.name, version: params.version, body: h("div"), aliases: [] };
      fill(view, h("h1", {}, h("a", { href: modelHref(state.name) }, state.name), " ",
        h("span", { class: "sub" }, "version " + state.version)), modelTabs(state.name, ""), state.body,
      aliasForm(state));
      return state;
    },
    async refresh(state) {
      const { name, version } = state;
      const [got, lineage, registered, served] = await Promise.all([
        api(kMlflow + "model-versions/get" + query({ name, version })),
        api("/v1/models/" + enc(name) + "/versions/" + enc(version) + "/lineage"),
        registryModel(name),
        servedModels(),
      ]);
      const v = got.model_version;
      const s = served.get(name);
      const loaded = s && s.state === "READY" && s.loaded.includes(Number(version));
      const [meta, defaultMeta] = loaded
        ? await Promise.all([metadata(name, version), metadata(name)]) : [null, null];
      const serving = defaultMeta && defaultMeta.version === Number(version);
      state.aliases = registered ? registered.aliases : [];
      fill(state.aliasList, state.aliases.map((a) => h("option", { value: a.alias }, `v${a.version}`)));

      const ds = lineage.dataset;
      const overview = h("div", { class: "panel" }, h("dl", { class: "kv" },
        h("dt", {}, "Served"), h("dd", {}, loaded
          ? [badge("loaded", "ok"), " ", meta.format, " on ", meta.runtime,
            serving ? [" · ", badge("serves /v2/models/" + name, "ok")] : ""]
          : badge("not loaded", "none")),
        h("dt", {}, "Aliases"), h("dd", { class: "aliases" },
          v.aliases.length ? v.aliases.map((a) => h("span", { class: "chip" }, "@" + a)) : "–"),
        h("dt", {}, "Stage"), h("dd", {}, v.current_stage),
        h("dt", {}, "Status"), h("dd", {}, v.status + (v.status_message ? " – " + v.status_message : "")),
        h("dt", {}, "Created"), h("dd", {}, time(v.creation_timestamp)),
        h("dt", {}, "Source"), h("dd", { class: "mono" }, lineage.source),
        h("dt", {}, "Run"), h("dd", { class: "mono run" }, lineage.run_id
          ? h("a", { href: "#/runs/" + enc(lineage.run_id) }, lineage.run_id) : "–"),
        h("dt", {}, "Description"), h("dd", {}, v.description || "–")));

      const dataset = h("div", { class: "panel dataset" }, ds ? h("dl", { class: "kv" },
        h("dt", {}, "Dataset"), h("dd", { class: "dataset-name" }, ds.name),
        h("dt", {}, "Version"), h("dd", { class: "dataset-version" }, String(ds.version)),
        h("dt", {}, "MD5"), h("dd", { class: "mono dataset-md5" }, ds.md5))
        : h("p", { class: "muted" }, "No dataset recorded: this version was registered, not trained by inferd."));
      const params = Object.entries(lineage.params);
      const metrics = Object.entries(lineage.metrics);

      const tags = (v.tags || []).map((t) => [h("span", { class: "mono" }, t.key), t.value]);

      fill(state.body,
        overview,
        h("div", { class: "grid2" },
          h("section", {}, h("h2", {}, "Dataset"), dataset,
            h("h2", {}, "Holdout metrics"), h("div", { class: "metrics" },
              table([{ label: "Metric" }, { label: "Value", num: true }],
                metrics.map(([k, m]) => ({ attrs: { "data-metric": k }, cells: [k, num(m, 6)] })),
                { empty: "no metrics recorded" }))),
          h("section", {}, h("h2", {}, "Training parameters"), h("div", { class: "params" },
            table([{ label: "Parameter" }, { label: "Value" }],
              params.map(([k, p]) => ({ attrs: { "data-param": k }, cells: [k, h("span", { class: "mono" }, p)] })),
              { empty: "no parameters recorded" })),
          h("h2", {}, "Tags"), table([{ label: "Key" }, { label: "Value" }], tags, { empty: "no tags" }))));
    },
  });

  // Moving an alias to this version: confirmed in a dialog, with the admin
  // token asked for when the server wants one. Built once per page, so a
  // refresh does not disturb what is being typed; state.aliases is current.
  function aliasForm(state) {
    const { name, version } = state;
    const listId = "aliases-of-model";
    const input = h("input", {
      type: "text", id: "alias-name", list: listId, required: true, pattern: "[A-Za-z0-9_][A-Za-z0-9_.\\-]*",
      placeholder: "alias, e.g. production", "aria-label": "alias",
    });
    state.aliasList = h("datalist", { id: listId });
    const form = h("form", {
      class: "toolbar",
      onsubmit: async (e) => {
        e.preventDefault();
        const alias = input.value.trim();
        if (!alias) return;
        const now = state.aliases.find((a) => a.alias === alias);
        const where = now ? `It points at version ${now.version} now.` : "It is a new alias.";
        const done = await Console.confirmChange({
          title: "Move an alias",
          text: `Point @${alias} of model ${name} at version ${version}? ${where} ` +
            "A server that serves this alias at the unversioned URL switches to this version at once.",
          action: () => api(kMlflow + "registered-models/alias", {
            method: "POST", body: { name, alias, version: String(version) },
          }),
        });
        if (done) {
          input.value = "";
          Console.toast(`@${alias} now points at version ${version}`);
          await Console.refreshNow();
        }
      },
    },
    h("label", { for: "alias-name" }, "Point alias"), input,
    state.aliasList,
    h("span", {}, "at this version"),
    h("button", { class: "primary", id: "move-alias" }, "Move alias…"));
    return h("section", { class: "admin" }, h("h2", {}, "Admin"), h("div", { class: "panel" },
      form, h("p", { class: "legend-note" },
        "Changes need the server's admin token when it has one (INFERD_ADMIN_TOKEN); " +
        "it is kept in this tab only.")));
  }

  // --- Drift ---------------------------------------------------------------------------------

  // How far past its threshold a feature is (>= 1: drifting on that statistic).
  function severity(f, thresholds) {
    if (f.js !== undefined) return f.js / thresholds.js;
    return f.psi / thresholds.psi;
  }

  Console.route("/models/:name/drift", {
    nav: "models",
    interval: 10000,
    title: (p) => `${p.name} drift`,
    mount(view, params, q) {
      const state = {
        name: params.name, version: q.get("version") || "", selected: "", filter: "",
        summary: h("div"), versions: h("span"), prediction: h("div"), detail: h("div"), list: h("div"),
      };
      const search = h("input", {
        type: "search", placeholder: "filter features", "aria-label": "filter features",
        oninput: () => {
          state.filter = search.value.trim().toLowerCase();
          renderFeatures(state);
        },
      });
      fill(view, h("h1", {}, h("a", { href: modelHref(state.name) }, state.name), " ",
        h("span", { class: "sub" }, "drift")), modelTabs(state.name, "drift"),
      h("div", { class: "toolbar" }, state.versions), state.summary,
      h("div", { class: "grid2" },
        h("section", { class: "panel" }, h("div", { class: "chart-title" }, "Prediction"), state.prediction),
        h("section", { class: "panel" }, state.detail)),
      h("h2", {}, "Features, worst first"), h("div", { class: "toolbar" }, search), state.list);
      return state;
    },
    async refresh(state) {
      const served = (await servedModels()).get(state.name);
      const loaded = served ? served.loaded : [];
      // Redrawn only when the loaded versions change, so an open list stays open.
      if (state.loadedKey !== loaded.join()) {
        state.loadedKey = loaded.join();
        fill(state.versions, h("label", {}, "Version ", h("select", {
        "aria-label": "version",
        onchange: (e) => {
          location.hash = modelHref(state.name) + "/drift" + query({ version: e.target.value });
        },
      }, h("option", { value: "" }, "the unversioned URL's"),
        loaded.map((v) => h("option", { value: v, selected: String(v) === state.version }, "v" + v)))));
      }
      const report = await api("/v1/models/" + enc(state.name) + "/drift" + query({ version: state.version }));
      state.report = report;
      const t = report.thresholds;
      const drifting = report.features.filter((f) => f.drift).length;
      fill(state.summary, h("div", { class: "cards" },
        card("Version", "v" + report.version),
        card("Rows in the live window", num(report.window_rows),
          h("div", { class: "legend-note" }, report.enough_rows ? `of at most ${num(t.window_max_rows)}`
            : `verdicts wait for ${num(t.min_rows)} rows`)),
        card("Dataset drift", report.dataset_drift ? badge("drift", "bad")
          : report.enough_rows ? badge("no drift", "ok") : badge("too few rows", "warn")),
        card("Drifting features", `${drifting} of ${report.features.length}`,
          h("div", { class: "legend-note" }, `drift when ≥ ${num(t.dataset_drift_share * 100)}%`)),
        card("Thresholds", h("span", { class: "mono" }, `PSI ${num(t.psi)} · JS ${num(t.js)}`),
          h("div", { class: "legend-note" }, `KS α ${num(t.ks_alpha)} (${num(t.ks_alpha_per_feature)} a feature)`))));
      if (report.prediction) {
        const p = report.prediction;
        fill(state.prediction, h("div", { class: "legend-note" }, verdict(p), " ", stats(p)), h("div", { class: "chart" }));
        Charts.histogram(state.prediction.lastChild, p.histogram);
      } else {
        fill(state.prediction, h("p", { class: "muted" }, "No prediction profile for this version."));
      }
      state.sorted = [...report.features].sort((a, b) =>
        (b.drift - a.drift) || (severity(b, t) - severity(a, t)) || a.name.localeCompare(b.name));
      if (!state.sorted.some((f) => f.name === state.selected)) {
        state.selected = state.sorted.length ? state.sorted[0].name : "";
      }
      renderFeatures(state);
    },
  });

  function verdict(f) {
    return f.drift ? badge("drift", "bad") : badge("no drift", "ok");
  }

  function stats(f) {
    return f.js !== undefined
      ? `JS ${num(f.js)} · χ² p ${num(f.chi2_p_value)}`
      : `PSI ${num(f.psi)} · KS ${num(f.ks)} (p ${num(f.ks_p_value)})`;
  }

  function renderFeatures(state) {
    if (!state.report) return;
    const t = state.report.thresholds;
    const rows = state.sorted.filter((f) => f.name.toLowerCase().includes(state.filter)).map((f) => ({
      attrs: {
        class: "clickable" + (f.name === state.selected ? " selected" : ""), "data-feature": f.name,
        onclick: () => {
          state.selected = f.name;
          renderFeatures(state);
        },
      },
      cells: [f.name, verdict(f), f.psi !== undefined ? num(f.psi) : "–", f.ks !== undefined ? num(f.ks) : "–",
        f.ks_p_value !== undefined ? num(f.ks_p_value) : "–", f.js !== undefined ? num(f.js) : "–",
        num(severity(f, t), 3),
        `${num(f.reference_missing_share * 100, 3)}% → ${num(f.live_missing_share * 100, 3)}%`],
    }));
    fill(state.list, h("div", { class: "scroll" }, table([{ label: "Feature" }, { label: "Verdict" },
      { label: "PSI", num: true }, { label: "KS", num: true }, { label: "KS p", num: true },
      { label: "JS", num: true }, { label: "× threshold", num: true, title: "PSI (or JS) over its threshold" },
      { label: "Missing ref → live" }], rows, { empty: "no features match" })));
    const f = state.sorted.find((x) => x.name === state.selected);
    if (!f) {
      fill(state.detail, h("p", { class: "muted" }, "No features."));
      return;
    }
    if (state.detail.dataset.feature !== f.name) {
      fill(state.detail, h("div", { class: "chart-title" }, "Feature ", h("span", { class: "mono" }, f.name)),
        h("div", { class: "legend-note" }), h("div", { class: "chart" }));
      state.detail.dataset.feature = f.name;
    }
    fill(state.detail.children[1], verdict(f), " ", stats(f));
    Charts.histogram(state.detail.children[2], f.histogram);
  }

  // --- Live performance ----------------------------------------------------------------------

  Console.route("/models/:name/performance", {
    nav: "models",
    interval: 5000,
    title: (p) => `${p.name} live performance`,
    mount(view, params) {
      const state = { name: params.name, current: h("div"), charts: h("div", { class: "grid2" }) };
      fill(view, h("h1", {}, h("a", { href: modelHref(state.name) }, state.name), " ",
        h("span", { class: "sub" }, "live performance")), modelTabs(state.name, "performance"),
      h("p", { class: "legend-note" }, "Each version's metrics on its live window: the latest labelled rows " +
        "(POST /v1/feedback joined to the predictions). Over time: the window's history on the server " +
        "(a point per --performance-history-interval-seconds), then the window now."),
      state.current, h("h2", {}, "Over time"), state.charts);
      return state;
    },
    async refresh(state) {
      const report = await api("/v1/models/" + enc(state.name) + "/performance");
      // Every version's history points and its window now, on one time axis.
      const now = Date.now();
      const byTime = new Map();
      for (const v of report.versions) {
        for (const p of [...(v.history || []), { time: now, rows: v.rows, metrics: v.metrics }]) {
          if (!byTime.has(p.time)) byTime.set(p.time, { t: p.time / 1000, versions: {} });
          byTime.get(p.time).versions[v.version] = { rows: p.rows, metrics: p.metrics };
        }
      }
      const points = [...byTime.values()].sort((a, b) => a.t - b.t);

      const metricNames = [...new Set(report.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
      fill(state.current, table(
        [{ label: "Version" }, { label: "Kind" }, { label: "Labelled rows", num: true },
          ...metricNames.map((m) => ({ label: m, num: true }))],
        report.versions.map((v) => ({ attrs: { "data-version": v.version }, cells: [
          h("a", { href: versionHref(state.name, v.version) }, "v" + v.version), v.kind, num(v.rows),
          ...metricNames.map((m) => num(v.metrics[m])),
        ] })), { empty: "no ground truth has arrived yet: POST /v1/feedback with a prediction_id" }));

      const versions = [...new Set(points.flatMap((p) => Object.keys(p.versions)))].sort((a, b) => a - b);
      const times = points.map((p) => p.t);
      const column = (v, pick) => points.map((p) => (p.versions[v] ? pick(p.versions[v]) : null));
      const charts = [["labelled rows", (s) => s.rows]];
      for (const m of metricNames) charts.push([m, (s) => (s.metrics[m] ?? null)]);
      if (points.length < 2) {  // a line needs two points
        fill(state.charts, h("p", { class: "muted" }, "No history yet: the server keeps a point an interval."));
        return;
      }
      for (const el of state.charts.querySelectorAll(":scope > p")) el.remove();
      const existing = new Map([...state.charts.children].map((el) => [el.dataset.metric, el]));
      for (const [label, pick] of versions.length ? charts : []) {
        let panel = existing.get(label);
        if (!panel) {
          panel = h("section", { class: "panel", dataset: { metric: label } },
            h("div", { class: "chart-title" }, label), h("div", { class: "chart" }));
          state.charts.append(panel);
        }
        existing.delete(label);
        Charts.timeSeries(panel.lastChild, times,
          versions.map((v) => ({ label: "v" + v, values: column(v, pick) })),
          { yRange: kUnitMetrics.has(label) ? [0, 1] : undefined });
      }
      for (const el of existing.values()) el.remove();
    },
  });
  // --- Predictions ---------------------------------------------------------------------------

  // The newest logged predictions of a model (all versions, or one).
  async function latestPredictions(model, version) {
    let records = [];
    let window = "";
    let cut = false;
    for (window of kLogWindows) {
      records = [];
      let cursor = "";
      for (let i = 0; i < kMaxLogPages; ++i) {
        const { data, headers } = await api("/v1/predictions" +
          query({ model, version, since: window, limit: kLogPage, cursor }),
        { ndjson: true, withHeaders: true });
        records = records.concat(data).slice(-kLatestPredictions);
        cursor = headers.get("X-Next-Cursor") || "";
        if (!cursor) break;
      }
      cut = cursor !== "";
      if (cut || records.length >= kLatestPredictions) break;
    }
    return { records: records.reverse(), window, cut };
  }

  // A row of numbers, shortened: the first few, then how many.
  function preview(values) {
    if (!Array.isArray(values)) return num(values);
    const head = values.slice(0, kPreviewValues).map((v) => (Array.isArray(v) ? "[…]" : num(v)));
    return "[" + head.join(", ") + (values.length > kPreviewValues ? `, … ${values.length}]` : "]");
  }

  // Inputs: the first row shortened, expandable to every row by feature.
  function inputsCell(inputs, features) {
    const name = (i) => features[i] || "f" + i;
    const rows = inputs.map((row, r) => (inputs.length > 1 ? `row ${r}: ` : "") +
      row.map((v, i) => `${name(i)}=${v}`).join(", "));
    return h("details", {},
      h("summary", { class: "mono" }, preview(inputs[0] || []),
        inputs.length > 1 ? h("span", { class: "muted" }, ` +${inputs.length - 1} rows`) : ""),
      h("pre", { class: "json" }, rows.join("\n")));
  }

  Console.route("/models/:name/predictions", {
    nav: "models",
    interval: 10000,
    title: (p) => `${p.name} predictions`,
    mount(view, params, q) {
      const state = {
        name: params.name, version: q.get("version") || "", page: 0, perPage: kPredictionsPerPage,
        note: h("p", { class: "legend-note" }), body: h("div"), features: [],
      };
      fill(view, h("h1", {}, h("a", { href: modelHref(state.name) }, state.name), " ",
        h("span", { class: "sub" }, "predictions")), modelTabs(state.name, "predictions"),
      state.note, state.body);
      return state;
    },
    async refresh(state) {
      // The log holds production inputs: a refusal asks for the token (console.js).
      const latest = await latestPredictions(state.name, state.version);
      if (!state.features.length) {
        try {
          state.features = (await api("/v2/models/" + enc(state.name))).parameters.feature_names || [];
        } catch (e) {
          state.features = [];  // not served now: inputs by position
        }
      }
      state.records = latest.records;
      const count = latest.records.length;
      state.note.textContent = count === 0
        ? `No predictions logged in the last ${latest.window}.`
        : `The ${num(count)} newest predictions` + (latest.cut
          ? ` of the first ${num(kMaxLogPages * kLogPage)} in the last ${latest.window}.`
          : ` (logged in the last ${latest.window}), newest first.`);
      renderPredictions(state);
    },
  });

  function renderPredictions(state) {
    const start = state.page * state.perPage;
    const shown = state.records.slice(start, start + state.perPage);
    const rows = shown.map((r) => ({ attrs: { "data-prediction": r.id }, cells: [
      time(r.time), "v" + r.version, num(r.inputs.length), num(r.latency_us / 1000, 3),
      inputsCell(r.inputs, state.features),
      h("span", { class: "mono" }, preview(r.outputs)),
      r.ground_truth === undefined ? h("span", { class: "muted" }, "not yet")
        : h("span", { class: "mono" }, preview(r.ground_truth)),
      h("span", { class: "mono" }, r.id),
    ] }));
    fill(state.body, h("div", { class: "predictions" }, table([{ label: "Time" }, { label: "Version" },
      { label: "Rows", num: true }, { label: "Latency ms", num: true }, { label: "Inputs" }, { label: "Outputs" },
      { label: "Ground truth" }, { label: "Prediction ID" }], rows, { empty: "nothing logged" })),
    pager(state, state.records.length, (page) => {
      state.page = page;
      renderPredictions(state);
    }));
  }
})();
