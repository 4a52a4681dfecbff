# Reads the rendered overlay and turns it into the objects the parent module installs:
# image, Ingress host and namespace replaced, the Namespace and the placeholder Secret left
# out (the parent creates both), monitoring objects only when asked for. No provider: it
# is evaluated offline by tests/deploy.

locals {
  # The names the rendered overlay uses, replaced by this module's variables.
  rendered_image = "ghcr.io/inferd/inferd:0.1.0"
  rendered_host  = "my-deployed-app.com"

  text = replace(replace(file(var.manifests_file), local.rendered_image, var.image),
  local.rendered_host, var.ingress_host)

  documents = [
    for doc in split("\n---\n", local.text) : yamldecode(doc)
    if trimspace(doc) != "" && trimspace(doc) != "---"
  ]

  # Keyed "Kind/name"; values as YAML text so that objects of different shapes fit one map.
  objects = {
    for doc in local.documents :
    "${doc.kind}/${doc.metadata.name}" => yamlencode(merge(doc, {
      metadata = merge(doc.metadata, { namespace = var.namespace })
    }))
    if !contains(["Namespace", "Secret"], doc.kind) && (var.enable_monitoring ||
    lookup(lookup(doc.metadata, "labels", {}), "app.kubernetes.io/component", "") != "monitoring")
  }
}
