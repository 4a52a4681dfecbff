// inferd console, charts: reference-vs-live histograms and time series with
// uPlot (npm's uplot, embedded in the binary). A chart is drawn into a
// container element, sized to its width, and redrawn with new data in place
// (uPlot's setData) when the page refreshes.
"use strict";

const Charts = (() => {
  const kPalette = ["#2c5fd6", "#e8743b", "#19a979", "#945ecf", "#ed4a7b", "#13a4b4", "#a15c07",
    "#525df4", "#bf399e", "#6c8893"];
  const kReference = "#8a94a6";
  const kLive = "#2c5fd6";
  const live = new Set();  // charts to resize with the window

  function width(container) {
    return Math.max(240, container.clientWidth || container.parentElement.clientWidth || 480);
  }

  window.addEventListener("resize", () => {
    for (const chart of live) {
      if (!chart.root.isConnected) {
        live.delete(chart);
        continue;
      }
      chart.setSize({ width: width(chart.root.parentElement), height: chart.height });
    }
  });

  // Draws `opts` x `data` into `container`, reusing the chart already there
  // when its series are the same (so a refresh does not flicker).
  function draw(container, key, opts, data) {
    const old = container._chart;
    if (old && container._chartKey === key) {
      old.setData(data);
      return old;
    }
    if (old) {
      live.delete(old);
      old.destroy();
    }
    container.replaceChildren();
    const chart = new uPlot({ width: width(container), ...opts }, data, container);
    container._chart = chart;
    container._chartKey = key;
    live.add(chart);
    return chart;
  }

  // Short labels for histogram bins: numeric bins are (edge[i-1], edge[i]],
  // the first open below and the last open above; categories as named.
  function binLabels(histogram) {
    if (histogram.categories) {
      return histogram.categories.map((c) => (c.length > 14 ? c.slice(0, 13) + "…" : c));
    }
    const edges = histogram.edges || [];
    const fmt = (v) => Console.num(v, 3);
    const labels = edges.map((e) => "≤" + fmt(e));
    labels.push(">" + fmt(edges[edges.length - 1]));
    return labels;
  }

  // A feature's (or the prediction's) histogram from a drift report: the
  // training reference beside the live window, as shares of rows per bin.
  function histogram(container, histogram, { height = 220 } = {}) {
    const labels = binLabels(histogram);
    const n = histogram.reference.length;
    const xs = [...Array(n).keys()];
    const bars = (align) => uPlot.paths.bars({ size: [0.4, Infinity], align });
    const opts = {
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: () => [-0.5, n - 0.5] },
        y: { range: (u, min, max) => [0, Math.max(max, 0.01) * 1.1] },
      },
      axes: [
        {
          splits: () => xs,
          values: (u, splits) => splits.map((i) => labels[i] ?? ""),
          rotate: n > 8 ? -30 : 0,
          size: n > 8 ? 52 : 30,
          gap: 4,
        },
        { values: (u, splits) => splits.map((v) => Math.round(v * 100) + "%"), size: 54 },
      ],
      series: [
        { label: "bin", value: (u, i) => (i == null ? "–" : labels[i]) },
        { label: "reference", fill: kReference, stroke: kReference, paths: bars(-1), points: { show: false },
          value: (u, v) => (v == null ? "–" : (v * 100).toFixed(1) + "%") },
        { label: "live", fill: kLive, stroke: kLive, paths: bars(1), points: { show: false },
          value: (u, v) => (v == null ? "–" : (v * 100).toFixed(1) + "%") },
      ],
    };
    const key = "hist:" + labels.join("|");
    return draw(container, key, opts, [xs, histogram.reference, histogram.live]);
  }

  const kValueAxis = { size: 56, values: (u, splits) => splits.map((v) => Console.num(v, 3)) };

  // uPlot series for lines, one colour each; points marked while they are few.
  function lines(series, points) {
    return series.map((s, i) => ({
      label: s.label,
      stroke: kPalette[i % kPalette.length],
      width: 2,
      spanGaps: true,
      points: { show: points < 60 },
      value: (u, v) => Console.num(v),
    }));
  }

  // Lines over time: `times` in seconds since the epoch, `series` a list of
  // {label, values} (null where a line has no point).
  function timeSeries(container, times, series, { height = 220, yLabel = "", yRange } = {}) {
    const opts = {
      height,
      cursor: { drag: { x: true, y: false } },
      scales: {
        // At least a minute across, so the first samples do not spread over years.
        x: { time: true, range: (u, min, max) => (max - min < 60 ? [max - 60, max + 1] : [min, max]) },
        y: yRange ? { range: yRange } : { auto: true },
      },
      axes: [{}, { ...kValueAxis, label: yLabel }],
      series: [{}, ...lines(series, times.length)],
    };
    const key = "ts:" + series.map((s) => s.label).join("|");
    return draw(container, key, opts, [times, ...series.map((s) => s.values)]);
  }

  // Lines over a step count (a run's metric history): {label, steps, values}
  // per series, merged on their steps.
  function steps(container, series, { height = 220, xLabel = "step" } = {}) {
    const all = [...new Set(series.flatMap((s) => s.steps))].sort((a, b) => a - b);
    const index = new Map(all.map((s, i) => [s, i]));
    const columns = series.map((s) => {
      const column = new Array(all.length).fill(null);
      s.steps.forEach((step, i) => (column[index.get(step)] = s.values[i]));
      return column;
    });
    const opts = {
      height,
      scales: { x: { time: false } },
      axes: [{ label: xLabel }, kValueAxis],
      series: [{ label: xLabel }, ...lines(series, all.length)],
    };
    const key = "steps:" + series.map((s) => s.label).join("|");
    return draw(container, key, opts, [all, ...columns]);
  }

  return { histogram, timeSeries, steps, binLabels };
})();
