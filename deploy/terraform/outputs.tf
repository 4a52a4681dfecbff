output "namespace" {
  description = "Namespace inferd runs in."
  value       = kubernetes_namespace_v1.inferd.metadata[0].name
}

output "service" {
  description = "In-cluster address of inferd's Service."
  value       = "inferd.${kubernetes_namespace_v1.inferd.metadata[0].name}.svc.cluster.local:9000"
}

output "url" {
  description = "inferd through the Ingress (map the host to the ingress controller's address)."
  value       = "http://${var.ingress_host}/"
}

output "image" {
  description = "The image the Deployment and the training jobs run."
  value       = var.image
}

output "objects" {
  description = "Kubernetes objects installed from the rendered manifests (Kind/name)."
  value       = sort(keys(module.manifests.objects))
}
