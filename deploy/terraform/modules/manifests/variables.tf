variable "manifests_file" {
  description = "Rendered manifests (a kustomize build output)."
  type        = string
}

variable "namespace" {
  description = "Namespace every object is put in."
  type        = string
}

variable "image" {
  description = "inferd image that replaces the rendered one."
  type        = string
}

variable "ingress_host" {
  description = "Host that replaces the rendered Ingress host."
  type        = string
}

variable "enable_monitoring" {
  description = "Keep the objects labelled app.kubernetes.io/component=monitoring."
  type        = bool
}
