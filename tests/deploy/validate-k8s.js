// Validates Kubernetes objects against the API schemas of kubernetes-models (and the
// Prometheus Operator's CRDs). Reads a JSON array of objects on stdin; prints one line per
// object ("ok Kind/name" or "error Kind/name: why"); exits 1 if any object fails or has a
// kind no schema is known for.
"use strict";

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = group.endsWith("coreos.com")
    ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`]
    : [`kubernetes-models/${group ? group + "/" : ""}${version}/${kind}`];
  for (const name of candidates) {
    try {
      return require(name)[kind];
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  return null;
}

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  let failed = false;
  for (const object of JSON.parse(input)) {
    const label = `${object.kind}/${object.metadata && object.metadata.name}`;
    const Model = modelFor(object.apiVersion || "", object.kind || "");
    if (!Model) {
      console.log(`error ${label}: no schema for ${object.apiVersion} ${object.kind}`);
      failed = true;
      continue;
    }
    try {
      new Model(object).validate();
      console.log(`ok ${label}`);
    } catch (e) {
      console.log(`error ${label}: ${e.message.replace(/\s+/g, " ")}`);
      failed = true;
    }
  }
  process.exit(failed ? 1 : 0);
});
