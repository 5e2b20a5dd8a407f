{{/* Names: <release>-teamtrack, or the release name when it holds the chart's. */}}
{{- define "teamtrack.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "teamtrack.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* selector labels of one component: (dict "root" $ "component" "api-gateway") */}}
{{- define "teamtrack.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* image of a binary: (dict "root" $ "binary" "api-gateway") */}}
{{- define "teamtrack.image" -}}
{{- $i := .root.Values.image -}}
{{- $repo := printf "%s/%s" $i.repository .binary -}}
{{- if $i.registry }}{{ $repo = printf "%s/%s" $i.registry $repo }}{{ end -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $i.tag) -}}
{{- end -}}

{{- define "teamtrack.secretName" -}}
{{- printf "%s-auth" (include "teamtrack.fullname" .) -}}
{{- end -}}

{{/* The token policy, shared by the gateway and the tracking services. */}}
{{- define "teamtrack.authEnv" -}}
{{- $a := .Values.auth -}}
{{- if not (or $a.jwtSecret $a.existingSecret $a.jwksURL) }}
{{- fail "auth: set auth.jwtSecret, auth.existingSecret or auth.jwksURL (mode jwt refuses to start without one)" }}
{{- end }}
- name: AUTH_MODE
  value: {{ $a.mode | quote }}
{{- if or $a.jwtSecret $a.existingSecret }}
- name: AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ default (include "teamtrack.secretName" .) $a.existingSecret }}
      key: AUTH_JWT_SECRET
{{- end }}
{{- with $a.jwksURL }}
- name: AUTH_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $a.issuer }}
- name: AUTH_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with $a.audience }}
- name: AUTH_AUDIENCE
  value: {{ . | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.consul.addr }}
- name: CONSUL_HTTP_ADDR
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Pod annotations for Prometheus: (dict "root" $ "port" 8080) */}}
{{- define "teamtrack.podAnnotations" -}}
{{- if .root.Values.metricsAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* Probes, drain and security of a serving container: (dict "root" $ "c" .Values.gateway) */}}
{{- define "teamtrack.serving" -}}
ports:
  - name: http
    containerPort: {{ .c.port }}
    protocol: TCP
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 2
  failureThreshold: 2
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  failureThreshold: 3
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 1
  failureThreshold: 60
lifecycle:
  preStop:
    sleep:
      seconds: {{ .root.Values.preStopSleepSeconds }}
securityContext:
  {{- toYaml .root.Values.securityContext | nindent 2 }}
resources:
  {{- toYaml .c.resources | nindent 2 }}
# The root filesystem is read-only: a scratch /tmp.
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* terminationGracePeriodSeconds: preStop sleep + SHUTDOWN_TIMEOUT + 5 s. */}}
{{- define "teamtrack.grace" -}}
{{- add .root.Values.preStopSleepSeconds .c.shutdownTimeoutSeconds 5 -}}
{{- end -}}
