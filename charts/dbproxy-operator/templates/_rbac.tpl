{{- /*
The operator's RBAC rules, mirroring operator/src/controller/permissions.ts (the chart e2e test
checks both ways). "rules.namespaced" is what it needs where DBProxies live; "rules.lease" is
leader election. Server-side apply is the `patch` verb.
*/ -}}
{{- define "dbproxy-operator.rules.namespaced" -}}
- apiGroups: [dbproxy.io]
  resources: [dbproxies]
  verbs: [list, watch]
- apiGroups: [dbproxy.io]
  resources: [dbproxies/status]
  verbs: [patch]
# The children of each DBProxy.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services, serviceaccounts]
  verbs: [list, watch, create, patch, delete]
# Secrets: the config Secret it owns (listed by its label), and each Secret a DBProxy references
# (watched alone, by name). RBAC cannot narrow list/watch to names known only at run time, so this
# is every Secret where the rule applies: install with watchNamespaces to confine it. Holding
# get/list/watch is also what lets it create the proxy's Role granting them on the config Secret
# (RBAC refuses to let a subject grant permissions it does not hold).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch, delete]
# spec.networkPolicy: which clients may reach the proxy pods.
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch, create, patch, delete]
# PodMonitors for the proxy pods (spec.monitoring.podMonitor), where the Prometheus Operator's
# CRDs are installed.
- apiGroups: [monitoring.coreos.com]
  resources: [podmonitors]
  verbs: [list, watch, create, patch, delete]
# Ready addresses of serviceRef targets.
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{- define "dbproxy-operator.rules.lease" -}}
# Leader election.
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
{{- end -}}

{{- define "dbproxy-operator.rules.tokenReview" -}}
# The TokenReview ClusterRoleBinding of each spec.kubernetesAuth DBProxy (--token-review-bindings):
# bind only system:auth-delegator, to nothing but the proxy pods' ServiceAccounts.
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterrolebindings]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  resourceNames: ["system:auth-delegator"]
  verbs: [bind]
{{- end -}}

{{- /* "true" or "false": tokenReviewBindings, or by default whether the install is cluster-wide. */ -}}
{{- define "dbproxy-operator.tokenReviewBindings" -}}
{{- $v := .Values.tokenReviewBindings -}}
{{- if or (kindIs "invalid" $v) (eq (toString $v) "") -}}
{{- eq (include "dbproxy-operator.watchNamespaces" .) "" -}}
{{- else if or (eq (toString $v) "true") (eq (toString $v) "false") -}}
{{- toString $v -}}
{{- else -}}
{{- fail (printf "tokenReviewBindings: %q is not true, false or empty" (toString $v)) -}}
{{- end -}}
{{- end -}}

{{- /* The watched namespaces: watchNamespaces plus the deprecated watchNamespace, sorted, unique. */ -}}
{{- define "dbproxy-operator.watchNamespaces" -}}
{{- $all := concat (.Values.watchNamespaces | default list) (ternary (list .Values.watchNamespace) list (ne (.Values.watchNamespace | default "") "")) -}}
{{- $all | uniq | sortAlpha | join "," -}}
{{- end -}}

{{- define "dbproxy-operator.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace -}}
{{- end -}}
