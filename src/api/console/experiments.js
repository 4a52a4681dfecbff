// inferd console, experiments and runs: MLflow's tracking API as inferd
// serves it (/api/2.0/mlflow/experiments/..., runs/..., metrics/get-history).
// An experiment's runs side by side with their parameters and latest metrics,
// the metric history of chosen runs plotted, and a run with the model versions
// registered from it.
"use strict";

(() => {
  const { api, query, h, fill, table, badge, num, time } = Console;
  const kMlflow = "/api/2.0/mlflow/";
  const kExperimentsPageSize = 1000;
  const kMaxExperimentPages = 100;
  const kRunsPerPage = 50;
  const kHistoryPageSize = 10000;    // metric points a request
  const kMaxHistoryPages = 10;       // 100,000 points a metric at most
  const kComparedRuns = 5;           // runs plotted when none are chosen
  const kMaxComparedRuns = 10;

  const enc = encodeURIComponent;
  const experimentHref = (id) => "#/experiments/" + enc(id);
  const runHref = (id) => "#/runs/" + enc(id);

  function runStatus(status) {
    const kind = { FINISHED: "ok", RUNNING: "warn", SCHEDULED: "none", FAILED: "bad", KILLED: "bad" };
    return badge(status, kind[status] || "none");
  }

  function duration(info) {
    if (!info.start_time) return "–";
    const end = info.end_time || Date.now();
    const s = Math.max(0, (end - info.start_time) / 1000);
    return s < 60 ? s.toFixed(1) + " s" : s < 3600 ? (s / 60).toFixed(1) + " min" : (s / 3600).toFixed(1) + " h";
  }

  // A metric's whole history (all pages, bounded).
  async function history(runId, key) {
    const points = [];
    let token = "";
    for (let i = 0; i < kMaxHistoryPages; ++i) {
      const page = await api(kMlflow + "metrics/get-history" +
        query({ run_id: runId, metric_key: key, max_results: kHistoryPageSize, page_token: token }));
      points.push(...(page.metrics || []));
      token = page.next_page_token;
      if (!token) break;
    }
    points.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
    return { steps: points.map((p) => p.step), values: points.map((p) => p.value) };
  }

  const pairs = (list) => Object.fromEntries((list || []).map((p) => [p.key, p.value]));

  // --- Experiments -----------------------------------------------------------------

  Console.route("/experiments", {
    nav: "experiments",
    interval: 15000,
    title: () => "Experiments",
    mount(view) {
      const state = { body: h("div") };
      fill(view, h("h1", {}, "Experiments"), state.body);
      return state;
    },
    async refresh(state) {
      const experiments = [];
      let token = "";
      for (let i = 0; i < kMaxExperimentPages; ++i) {
        const page = await api(kMlflow + "experiments/search", {
          method: "POST", body: { max_results: kExperimentsPageSize, page_token: token || undefined },
        });
        experiments.push(...(page.experiments || []));
        token = page.next_page_token;
        if (!token) break;
      }
      fill(state.body, table(
        [{ label: "Experiment" }, { label: "ID" }, { label: "Created" }, { label: "Last update" },
          { label: "Tags" }],
        experiments.map((e) => ({ attrs: { "data-experiment": e.name }, cells: [
          h("a", { href: experimentHref(e.experiment_id) }, h("strong", {}, e.name)),
          h("span", { class: "mono" }, e.experiment_id), time(e.creation_time), time(e.last_update_time),
          (e.tags || []).filter((t) => !t.key.startsWith("mlflow.")).map((t) =>
            h("span", { class: "chip" }, `${t.key}=${t.value}`)),
        ] })), { empty: "no experiments: mlflow.set_experiment() with this server as the tracking URI" }));
    },
  });

  // --- One experiment: its runs side by side -----------------------------------------------

  Console.route("/experiments/:id", {
    nav: "experiments",
    interval: 15000,
    title: (p) => "Experiment " + p.id,
    mount(view, params) {
      const state = {
        id: params.id, tokens: [""], page: 0, orderBy: "attributes.start_time DESC", metric: "",
        chosen: new Set(), runs: [], title: h("span"), body: h("div"), chart: h("div", { class: "chart" }),
        metricSelect: h("select", { "aria-label": "metric" }), orderSelect: h("select", { "aria-label": "order runs by" }),
      };
      state.metricSelect.addEventListener("change", () => {
        state.metric = state.metricSelect.value;
        drawHistory(state);
      });
      state.orderSelect.addEventListener("change", () => {
        state.orderBy = state.orderSelect.value;
        state.tokens = [""];
        state.page = 0;
        Console.refreshNow();
      });
      fill(view, h("h1", {}, state.title, " ", h("span", { class: "sub" }, "experiment")),
        h("section", { class: "panel" }, h("div", { class: "toolbar" },
          h("span", { class: "chart-title" }, "Metric history"), h("label", {}, "metric ", state.metricSelect),
          h("span", { class: "legend-note" }, "of the ticked runs (the first five when none is ticked)")),
        state.chart),
        h("div", { class: "toolbar" }, h("label", {}, "Order by ", state.orderSelect)),
        state.body);
      return state;
    },
    async refresh(state) {
      const [experiment, page] = await Promise.all([
        api(kMlflow + "experiments/get" + query({ experiment_id: state.id })),
        api(kMlflow + "runs/search", {
          method: "POST",
          body: { experiment_ids: [state.id], max_results: kRunsPerPage, order_by: [state.orderBy],
            page_token: state.tokens[state.page] || undefined },
        }),
      ]);
      state.title.textContent = experiment.experiment.name;
      state.tokens[state.page + 1] = page.next_page_token || "";
      state.runs = page.runs || [];
      const params = [...new Set(state.runs.flatMap((r) => (r.data.params || []).map((p) => p.key)))].sort();
      const metrics = [...new Set(state.runs.flatMap((r) => (r.data.metrics || []).map((m) => m.key)))].sort();
      // Orderings: start time, then each metric either way.
      const orders = [["attributes.start_time DESC", "newest first"],
        ...metrics.flatMap((m) => [[`metrics.\`${m}\` DESC`, `${m} ↓`], [`metrics.\`${m}\` ASC`, `${m} ↑`]])];
      if (!orders.some(([value]) => value === state.orderBy)) orders.push([state.orderBy, state.orderBy]);
      fill(state.orderSelect, orders.map(([value, label]) =>
        h("option", { value, selected: value === state.orderBy }, label)));
      if (!metrics.includes(state.metric)) state.metric = metrics[0] || "";
      fill(state.metricSelect, metrics.map((m) => h("option", { value: m, selected: m === state.metric }, m)));
      // Only params that differ between the runs shown stand out.
      const differs = new Set(params.filter((k) =>
        new Set(state.runs.map((r) => pairs(r.data.params)[k])).size > 1));
      const rows = state.runs.map((r) => {
        const p = pairs(r.data.params);
        const m = pairs(r.data.metrics);
        const id = r.info.run_id;
        const box = h("input", {
          type: "checkbox", "aria-label": "compare " + (r.info.run_name || id), checked: state.chosen.has(id),
          onchange: (e) => {
            if (e.target.checked && state.chosen.size < kMaxComparedRuns) state.chosen.add(id);
            else state.chosen.delete(id);
            e.target.checked = state.chosen.has(id);
            drawHistory(state);
          },
        });
        return { attrs: { "data-run": id }, cells: [
          box, h("a", { href: runHref(id) }, r.info.run_name || id), runStatus(r.info.status),
          time(r.info.start_time), duration(r.info),
          ...params.map((k) => (p[k] === undefined ? "–"
            : h("span", { class: differs.has(k) ? "mono differs" : "mono" }, p[k]))),
          ...metrics.map((k) => num(m[k])),
        ] };
      });
      const move = (delta) => {
        state.page += delta;
        Console.refreshNow();
      };
      fill(state.body,
        h("div", { class: "scroll runs" }, table([{ label: "" }, { label: "Run" }, { label: "Status" },
          { label: "Started" }, { label: "Duration" },
          ...params.map((k) => ({ label: k, title: "parameter" })),
          ...metrics.map((k) => ({ label: k, num: true, title: "latest value" }))], rows,
        { empty: "no runs yet" })),
        h("div", { class: "pager" },
          h("button", { disabled: state.page === 0, onclick: () => move(-1) }, "‹ Previous"),
          h("span", { class: "muted" }, `page ${state.page + 1}`),
          h("button", { disabled: !page.next_page_token, onclick: () => move(1) }, "Next ›")));
      await drawHistory(state);
    },
  });

  async function drawHistory(state) {
    const ids = state.chosen.size ? [...state.chosen]
      : state.runs.slice(0, kComparedRuns).map((r) => r.info.run_id);
    if (!state.metric || ids.length === 0) {
      fill(state.chart, h("p", { class: "muted" }, "No metrics logged yet."));
      return;
    }
    const names = new Map(state.runs.map((r) => [r.info.run_id, r.info.run_name || r.info.run_id]));
    const metric = state.metric;
    const series = await Promise.all(ids.map(async (id) =>
      ({ label: names.get(id) || id, ...(await history(id, metric)) })));
    if (metric !== state.metric) return;  // changed while loading
    Charts.steps(state.chart, series);
  }

  // --- One run --------------------------------------------------------------------------

  Console.route("/runs/:id", {
    nav: "experiments",
    interval: 15000,
    title: (p) => "Run " + p.id,
    mount(view, params) {
      const state = { id: params.id, title: h("span"), body: h("div"), charts: h("div", { class: "grid2" }) };
      fill(view, h("h1", {}, state.title, " ", h("span", { class: "sub" }, "run")), state.body,
        h("h2", {}, "Metric history"), state.charts);
      return state;
    },
    async refresh(state) {
      const [got, versions] = await Promise.all([
        api(kMlflow + "runs/get" + query({ run_id: state.id })),
        api(kMlflow + "model-versions/search" + query({ filter: `run_id = '${state.id}'`, max_results: 100 })),
      ]);
      const { info, data } = got.run;
      const experiment = await api(kMlflow + "experiments/get" + query({ experiment_id: info.experiment_id }));
      const inputs = (got.run.inputs && got.run.inputs.dataset_inputs) || [];
      state.title.textContent = info.run_name || info.run_id;
      const produced = versions.model_versions || [];
      fill(state.body,
        h("div", { class: "panel" }, h("dl", { class: "kv" },
          h("dt", {}, "Experiment"), h("dd", {}, h("a", { href: experimentHref(info.experiment_id) },
            experiment.experiment.name)),
          h("dt", {}, "Run ID"), h("dd", { class: "mono" }, info.run_id),
          h("dt", {}, "Status"), h("dd", {}, runStatus(info.status)),
          h("dt", {}, "Started"), h("dd", {}, time(info.start_time), " · ", duration(info)),
          h("dt", {}, "Artifacts"), h("dd", { class: "mono" }, info.artifact_uri || "–"),
          h("dt", {}, "Model versions"), h("dd", { class: "produced" }, produced.length
            ? produced.map((v) => h("a", { class: "chip", href: `#/models/${enc(v.name)}/versions/${enc(v.version)}` },
              `${v.name} v${v.version}`))
            : "none registered from this run"))),
        h("div", { class: "grid2" },
          h("section", {}, h("h2", {}, "Parameters"), table([{ label: "Parameter" }, { label: "Value" }],
            (data.params || []).map((p) => ({ attrs: { "data-param": p.key }, cells: [p.key,
              h("span", { class: "mono" }, p.value)] })), { empty: "no parameters" })),
          h("section", {}, h("h2", {}, "Metrics"), table([{ label: "Metric" }, { label: "Latest", num: true },
            { label: "Step", num: true }],
          (data.metrics || []).map((m) => ({ attrs: { "data-metric": m.key }, cells: [m.key, num(m.value, 6),
            num(m.step)] })), { empty: "no metrics" }),
          h("h2", {}, "Datasets"), table([{ label: "Name" }, { label: "Digest" }, { label: "Source" }],
            inputs.map((d) => [d.dataset.name, h("span", { class: "mono" }, d.dataset.digest),
              h("span", { class: "mono" }, d.dataset.source || "–")]), { empty: "no dataset inputs" }),
          h("h2", {}, "Tags"), table([{ label: "Key" }, { label: "Value" }],
            (data.tags || []).map((t) => [h("span", { class: "mono" }, t.key), t.value]), { empty: "no tags" }))));
      const keys = (data.metrics || []).map((m) => m.key).sort();
      const existing = new Map([...state.charts.children].map((el) => [el.dataset.metric, el]));
      for (const key of keys) {
        let panel = existing.get(key);
        if (!panel) {
          panel = h("section", { class: "panel", dataset: { metric: key } },
            h("div", { class: "chart-title" }, key), h("div", { class: "chart" }));
          state.charts.append(panel);
        }
        existing.delete(key);
        Charts.steps(panel.lastChild, [{ label: key, ...(await history(state.id, key)) }]);
      }
      for (const el of existing.values()) el.remove();
    },
  });
})();
