{{/*
Names are fixed (they are the operator's defaults, and cluster-scoped ones must not depend on the
release name): one mcp-warden per cluster.
*/}}
{{- define "mcp-warden.operatorName" -}}mcp-warden-operator{{- end }}
{{- define "mcp-warden.webhookConfigurationName" -}}mcp-warden-injector{{- end }}
{{- define "mcp-warden.webhookSecretName" -}}mcp-warden-webhook-tls{{- end }}
{{- define "mcp-warden.sidecarRoleName" -}}mcp-warden-sidecar{{- end }}
{{- define "mcp-warden.approverRoleName" -}}mcp-warden-approver{{- end }}
{{- define "mcp-warden.pinsApproverRoleName" -}}mcp-warden-pins-approver{{- end }}
{{- define "mcp-warden.decisionPolicyName" -}}mcp-warden-approval-decisions{{- end }}
{{- define "mcp-warden.requiredInjectionPolicyName" -}}mcp-warden-required-injection{{- end }}

{{- define "mcp-warden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: mcp-warden
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mcp-warden
{{- end }}

{{- define "mcp-warden.operatorSelectorLabels" -}}
app.kubernetes.io/name: mcp-warden
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "mcp-warden.operatorLabels" -}}
{{ include "mcp-warden.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The one image, by digest when given, else by tag (default: appVersion). */}}
{{- define "mcp-warden.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* DNS names and IPs the serving certificate must cover besides the Service's names. */}}
{{- define "mcp-warden.extraHosts" -}}
{{- $hosts := list -}}
{{- if .Values.webhook.url -}}
{{- $hosts = append $hosts (urlParse .Values.webhook.url).hostname -}}
{{- end -}}
{{- range .Values.webhook.extraHosts -}}
{{- $hosts = append $hosts . -}}
{{- end -}}
{{- $hosts | uniq | toJson -}}
{{- end }}

{{/* The namespaces the webhook never sees. */}}
{{- define "mcp-warden.excludedNamespaces" -}}
{{- $namespaces := list "kube-system" "kube-public" "kube-node-lease" .Release.Namespace -}}
{{- range .Values.webhook.excludeNamespaces -}}
{{- $namespaces = append $namespaces . -}}
{{- end -}}
{{- $namespaces | uniq | toJson -}}
{{- end }}
