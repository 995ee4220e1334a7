{{- define "secrets-manager.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "secrets-manager.serviceAccountName" -}}
{{- default (include "secrets-manager.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "secrets-manager.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "secrets-manager.labels" -}}
{{ include "secrets-manager.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The rules secrets-manager needs wherever it manages SecretDefinitions. */}}
{{- define "secrets-manager.rules" -}}
- apiGroups: [secrets-manager.tuenti.io]
  resources: [secretdefinitions]
  verbs: [get, list, watch, patch]
- apiGroups: [secrets-manager.tuenti.io]
  resources: [secretdefinitions/status]
  verbs: [get, patch, update]
- apiGroups: ['']
  resources: [secrets]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: ['']
  resources: [events]
  verbs: [create, patch]
{{- if .Values.rolloutRestart.enabled }}
{{- /* Rollout restarts: read the workloads, and patch their pod templates; nothing else. */}}
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch, patch]
{{- end }}
{{- if and (eq .Values.backend "vault") (eq .Values.vault.authScope "namespace") }}
{{- /* Tokens of the tenant service account only: minting tokens for any service account would
hand the operator every identity in the cluster. */}}
- apiGroups: ['']
  resources: [serviceaccounts/token]
  resourceNames: [{{ .Values.vault.tenant.serviceAccount | quote }}]
  verbs: [create]
{{- end }}
{{- end -}}
