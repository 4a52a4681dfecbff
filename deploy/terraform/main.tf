# Installs inferd on an existing cluster: the namespace, the Secret (from variables, so it
# never sits in a file), and every object of the production overlay (rendered into
# manifests/inferd.yaml by render.sh) with the image, host and namespace set here.

module "manifests" {
  source = "./modules/manifests"

  manifests_file    = coalesce(var.manifests_file, "${path.module}/manifests/inferd.yaml")
  namespace         = var.namespace
  image             = var.image
  ingress_host      = var.ingress_host
  enable_monitoring = var.enable_monitoring
}

resource "kubernetes_namespace_v1" "inferd" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/name"             = "inferd"
      "app.kubernetes.io/part-of"          = "inferd"
      "pod-security.kubernetes.io/enforce" = "restricted"
    }
  }
}

resource "kubernetes_secret_v1" "inferd" {
  metadata {
    name      = "inferd-secrets"
    namespace = kubernetes_namespace_v1.inferd.metadata[0].name
    labels = {
      "app.kubernetes.io/name"      = "inferd"
      "app.kubernetes.io/component" = "config"
      "app.kubernetes.io/part-of"   = "inferd"
    }
  }

  data = {
    "mongo-root-username" = var.mongo_root_username
    "mongo-root-password" = var.mongo_root_password
    "admin-token"         = var.admin_token
  }
}

resource "kubernetes_manifest" "inferd" {
  for_each = module.manifests.objects

  manifest = yamldecode(each.value)

  # The training Job runs to completion; later applies leave it alone.
  wait {
    rollout = contains(["Deployment", "StatefulSet"], yamldecode(each.value).kind)
  }

  timeouts {
    create = "10m"
    update = "10m"
  }

  depends_on = [kubernetes_secret_v1.inferd]
}
