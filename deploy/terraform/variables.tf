variable "namespace" {
  description = "Namespace to create and install inferd and MongoDB into."
  type        = string
  default     = "inferd"
}

variable "image" {
  description = "inferd container image, with its tag (e.g. ghcr.io/inferd/inferd:0.1.0)."
  type        = string
  default     = "ghcr.io/inferd/inferd:0.1.0"
}

variable "ingress_host" {
  description = "Host name the Ingress routes to inferd's Service (port 9000)."
  type        = string
  default     = "my-deployed-app.com"
}

variable "mongo_root_username" {
  description = "MongoDB root user, created on MongoDB's first start and used by inferd."
  type        = string
  default     = "inferd-root"
}

variable "mongo_root_password" {
  description = "MongoDB root password (at least 16 characters). Pass it from a secret store or TF_VAR_mongo_root_password, never from a committed file."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.mongo_root_password) >= 16
    error_message = "mongo_root_password must have at least 16 characters."
  }
}

variable "admin_token" {
  description = "Bearer token for inferd's admin routes (repository load/unload, registry writes); at least 32 characters."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.admin_token) >= 32
    error_message = "admin_token must have at least 32 characters."
  }
}

variable "enable_monitoring" {
  description = "Also install the ServiceMonitor, PrometheusRule and Grafana dashboard ConfigMap (needs the Prometheus Operator's CRDs in the cluster)."
  type        = bool
  default     = false
}

variable "manifests_file" {
  description = "Rendered manifests to install; the default is the production overlay, rendered by deploy/terraform/render.sh."
  type        = string
  default     = null
}
