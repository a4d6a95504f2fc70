{{/* Names and labels shared by every template. */}}

{{- define "haechi.fullname" -}}
{{- if contains "haechi" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-haechi" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "haechi.agent.name" -}}
{{- printf "%s-agent" (include "haechi.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "haechi.webhook.name" -}}
{{- printf "%s-webhook" (include "haechi.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "haechi.webhook.tlsSecret" -}}
{{- printf "%s-tls" (include "haechi.webhook.name" .) -}}
{{- end -}}

{{- define "haechi.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "haechi.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: haechi
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "haechi.agent.selector" -}}
app.kubernetes.io/name: haechi-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "haechi.webhook.selector" -}}
app.kubernetes.io/name: haechi-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* cert-manager issues the webhook's certificate: asked for, or `auto` and installed. */}}
{{- define "haechi.webhook.certManager" -}}
{{- $source := .Values.webhook.certs.source -}}
{{- if not (has $source (list "auto" "cert-manager" "job")) -}}
{{- fail (printf "webhook.certs.source: %q is not one of auto, cert-manager, job" $source) -}}
{{- end -}}
{{- if or (eq $source "cert-manager") (and (eq $source "auto") (.Capabilities.APIVersions.Has "cert-manager.io/v1")) -}}
true
{{- end -}}
{{- end -}}
