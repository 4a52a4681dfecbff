# Installs inferd with the module into the cluster of a kubeconfig context:
#   export TF_VAR_mongo_root_password=$(openssl rand -hex 24)
#   export TF_VAR_admin_token=$(openssl rand -hex 32)
#   terraform init && terraform apply -var kube_context=my-cluster
variable "kube_context" {
  description = "kubeconfig context of the target cluster."
  type        = string
}

variable "mongo_root_password" {
  type      = string
  sensitive = true
}

variable "admin_token" {
  type      = string
  sensitive = true
}

provider "kubernetes" {
  config_path    = "~/.kube/config"
  config_context = var.kube_context
}

module "inferd" {
  source = "../.."

  image               = "ghcr.io/inferd/inferd:0.1.0"
  mongo_root_password = var.mongo_root_password
  admin_token         = var.admin_token
  enable_monitoring   = true
}

output "inferd_url" {
  value = module.inferd.url
}
