// Package crds only pins the Prometheus Operator's API types, which controller-gen reads.
package crds

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
