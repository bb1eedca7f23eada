{{/*
Names and labels shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "db-access-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every resource: fullnameOverride, or "<release>-<chart>", or "<release>" when it already
contains the chart name. Truncated to 63 characters because it is also a Service (DNS label) name.
*/}}
{{- define "db-access-webhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Common labels. managed-by is Helm here; the webhook's own SecretProviderClasses say db-access-webhook. */}}
{{- define "db-access-webhook.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "db-access-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment selector is immutable). */}}
{{- define "db-access-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "db-access-webhook.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/* The webhook's name in the MutatingWebhookConfiguration: kubectl shows it in denials, the apiserver's metrics label
their calls with it (prometheusrule.yaml). */}}
{{- define "db-access-webhook.webhookName" -}}
db-access-webhook.db-access.io
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "db-access-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "db-access-webhook.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- if .Values.rbac.create }}
{{- required "serviceAccount.name is required when serviceAccount.create is false and rbac.create is true: the chart binds its ClusterRole to that ServiceAccount, never to the namespace's default one" .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Secret holding tls.crt and tls.key, whatever the certificate mode. */}}
{{- define "db-access-webhook.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" }}
{{- required "tls.existingSecret.name is required when tls.mode=existingSecret" .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-tls" (include "db-access-webhook.fullname" .) }}
{{- end }}
{{- end }}

{{/* The DNS names the apiserver may use for the Service; the certificate must cover <svc>.<ns>.svc. */}}
{{- define "db-access-webhook.dnsNames" -}}
{{- $svc := include "db-access-webhook.fullname" . }}
{{- list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) | toJson }}
{{- end }}

{{/*
The CA's common name. X.509 (RFC 5280) and cert-manager cap a common name at 64 characters, and the full name may
already have 63, so it is shortened before "-ca" is added.
*/}}
{{- define "db-access-webhook.caCommonName" -}}
{{- printf "%s-ca" (include "db-access-webhook.fullname" . | trunc 61 | trimSuffix "-") }}
{{- end }}

{{/* The image reference: the digest wins over the tag, so a pinned digest cannot drift. */}}
{{- define "db-access-webhook.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Namespaces never sent to the webhook: the control-plane namespaces, the webhook's own (so it can never block
its own pods from starting), and any the user adds.
*/}}
{{- define "db-access-webhook.excludedNamespaces" -}}
{{- concat (list "kube-system" "kube-node-lease" "kube-public" .Release.Namespace) .Values.webhook.excludedNamespaces | uniq | toJson }}
{{- end }}

{{/*
A duration in milliseconds: the Go and Prometheus forms made of whole numbers ("30s", "1m", "500ms", "720h0m0s"),
for comparisons at render time. Empty for what it cannot read to the millisecond (decimals, ns, us).
*/}}
{{- define "db-access-webhook.durationMs" -}}
{{- $text := . | toString }}
{{- if regexMatch "^([0-9]+(ms|h|m|s))+$" $text }}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(ms|h|m|s)" $text -1 }}
{{- $number := regexFind "^[0-9]+" . }}
{{- $total = add $total (mul (atoi $number) (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) (trimPrefix $number .))) }}
{{- end }}
{{- $total }}
{{- end }}
{{- end }}
