output "objects" {
  description = "Objects to install, keyed Kind/name, each as YAML text."
  value       = local.objects
}
