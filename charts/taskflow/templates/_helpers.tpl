{{/* The chart's name, possibly overridden. */}}
{{- define "taskflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's resource name prefix. */}}
{{- define "taskflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "taskflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that never change between chart versions: selectors and volumeClaimTemplates. */}}
{{- define "taskflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Every object's labels. */}}
{{- define "taskflow.labels" -}}
helm.sh/chart: {{ include "taskflow.chart" . }}
{{ include "taskflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: taskflow
{{- end -}}

{{- define "taskflow.postgresql.fullname" -}}
{{- printf "%s-postgres" (include "taskflow.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "taskflow.postgresql.selectorLabels" -}}
{{ include "taskflow.selectorLabels" . }}
app.kubernetes.io/component: database
app: postgres
{{- end -}}

{{- define "taskflow.app.selectorLabels" -}}
{{ include "taskflow.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* The generated Secret: database and admin passwords, kept across upgrades. */}}
{{- define "taskflow.secretName" -}}
{{- printf "%s-secrets" (include "taskflow.fullname" .) -}}
{{- end -}}

{{/* The Secret and key holding the database password. */}}
{{- define "taskflow.databaseSecretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- default (include "taskflow.secretName" .) .Values.postgresql.existingSecret -}}
{{- else -}}
{{- default (include "taskflow.secretName" .) .Values.externalDatabase.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "taskflow.databaseSecretKey" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.postgresql.secretKeys.password -}}
{{- else if .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecretPasswordKey -}}
{{- else -}}
{{- .Values.postgresql.secretKeys.password -}}
{{- end -}}
{{- end -}}

{{- define "taskflow.adminSecretName" -}}
{{- default (include "taskflow.secretName" .) .Values.taskflow.admin.existingSecret -}}
{{- end -}}

{{/* The database URL without its password (that comes from TASKFLOW_DATABASE_PASSWORD_FILE). */}}
{{- define "taskflow.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "postgres://%s@%s:5432/%s" .Values.postgresql.user (include "taskflow.postgresql.fullname" .) .Values.postgresql.database -}}
{{- else -}}
{{- $url := printf "postgres://%s@%s:%v/%s" .Values.externalDatabase.user .Values.externalDatabase.host .Values.externalDatabase.port .Values.externalDatabase.database -}}
{{- if .Values.externalDatabase.options -}}
{{- printf "%s?%s" $url .Values.externalDatabase.options -}}
{{- else -}}
{{- $url -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "taskflow.uploadsClaim" -}}
{{- default (printf "%s-uploads" (include "taskflow.fullname" .)) .Values.uploads.persistence.existingClaim -}}
{{- end -}}

{{- define "taskflow.backupsClaim" -}}
{{- default (printf "%s-backups" (include "taskflow.fullname" .)) .Values.backup.persistence.existingClaim -}}
{{- end -}}

{{/* storageClassName: "-" means "" (no dynamic provisioning); "" leaves the cluster default. */}}
{{- define "taskflow.storageClass" -}}
{{- if . -}}
{{- if eq "-" . }}
storageClassName: ""
{{- else }}
storageClassName: {{ . | quote }}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "taskflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Settings the chart cannot express in the schema, refused with a message naming them. */}}
{{- define "taskflow.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (ne .Values.uploads.persistence.accessMode "ReadWriteMany") -}}
{{- fail (printf "replicaCount %d needs uploads.persistence.accessMode: ReadWriteMany (it is %s): every replica must mount the uploads volume" (int .Values.replicaCount) .Values.uploads.persistence.accessMode) -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.uploads.persistence.enabled) -}}
{{- fail "replicaCount > 1 needs uploads.persistence.enabled: replicas would each keep different attachments" -}}
{{- end -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.host) -}}
{{- fail "postgresql.enabled is false: set externalDatabase.host (and its credentials) to the database Taskflow should use" -}}
{{- end -}}
{{- if and .Values.backup.enabled (not .Values.uploads.persistence.enabled) -}}
{{- fail "backup.enabled needs uploads.persistence.enabled: a backup must read the attachments volume" -}}
{{- end -}}
{{- end -}}

{{/* The TASKFLOW_* environment shared by the server, the backup job and the test pod. */}}
{{- define "taskflow.env" -}}
- name: TASKFLOW_DATA_DIR
  value: /data
- name: TASKFLOW_DATABASE_URL
  value: {{ include "taskflow.databaseUrl" . | quote }}
- name: TASKFLOW_DATABASE_PASSWORD_FILE
  value: /run/secrets/taskflow/database-password
- name: TASKFLOW_LOG_FORMAT
  value: {{ .Values.taskflow.logFormat | quote }}
- name: TASKFLOW_MAX_UPLOAD_BYTES
  value: {{ .Values.taskflow.maxUploadBytes | quote }}
- name: TASKFLOW_MIN_FREE_BYTES
  value: {{ .Values.taskflow.minFreeBytes | quote }}
- name: TASKFLOW_TRASH_RETENTION_DAYS
  value: {{ .Values.taskflow.trashRetentionDays | quote }}
{{- if .Values.backup.enabled }}
- name: TASKFLOW_BACKUP_DIR
  value: /backups
{{- end }}
{{- end -}}

{{/* The Secret files the pods read: the database password (and the admin password). */}}
{{- define "taskflow.secretsVolume" -}}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ include "taskflow.databaseSecretName" . }}
          items:
            - key: {{ include "taskflow.databaseSecretKey" . }}
              path: database-password
      - secret:
          name: {{ include "taskflow.adminSecretName" . }}
          items:
            - key: {{ .Values.taskflow.admin.existingSecretKey }}
              path: admin-password
{{- end -}}

{{/* Twice the backup schedule's period, in seconds (backup.alertAfterSeconds overrides). */}}
{{- define "taskflow.backupMaxAge" -}}
{{- if .Values.backup.alertAfterSeconds -}}
{{- .Values.backup.alertAfterSeconds -}}
{{- else -}}
{{- $fields := splitList " " (.Values.backup.schedule | trim) -}}
{{- if and (eq (len $fields) 5) (eq (index $fields 1) "*") -}}
7200
{{- else if and (eq (len $fields) 5) (ne (index $fields 4) "*") -}}
1209600
{{- else if and (eq (len $fields) 5) (ne (index $fields 2) "*") -}}
5356800
{{- else -}}
172800
{{- end -}}
{{- end -}}
{{- end -}}
