{{- define "notes-api.labels" -}}
app.kubernetes.io/name: notes-api
app.kubernetes.io/part-of: notes
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "notes-api.selector" -}}
app.kubernetes.io/name: notes-api
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "notes-api.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end }}

{{- define "notes-api.env" -}}
envFrom:
  - configMapRef:
      name: {{ .Release.Name }}-notes-api
env:
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ .Values.databaseSecret.name }}
        key: {{ .Values.databaseSecret.key }}
{{- end }}

{{- define "notes-api.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end }}
