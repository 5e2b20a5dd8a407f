{{/* PodDisruptionBudget and HPA of a component:
(dict "root" $ "c" .Values.x "name" "..." "component" "...") */}}
{{- define "teamtrack.pdbAndHPA" -}}
{{- $c := .c }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  labels:
    {{- include "teamtrack.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  minAvailable: {{ $c.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "teamtrack.selector" (dict "root" .root "component" .component) | nindent 6 }}
{{- if $c.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}
  labels:
    {{- include "teamtrack.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .name }}
  minReplicas: {{ $c.autoscaling.minReplicas }}
  maxReplicas: {{ $c.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $c.autoscaling.targetCPUUtilizationPercentage }}
    {{- if $c.autoscaling.connectionsPerReplica }}
    # Open connections per pod (the gauge tracking_connections, summed over
    # its kinds by the metrics adapter).
    - type: Pods
      pods:
        metric:
          name: tracking_connections
        target:
          type: AverageValue
          averageValue: {{ $c.autoscaling.connectionsPerReplica | quote }}
    {{- end }}
  behavior:
    # Scale down slowly: each removed replica hints its clients to reconnect.
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - type: Pods
          value: 1
          periodSeconds: 120
{{- end }}
{{- end -}}
