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
{{/* Where the database runs: statefulset, external or cloudnative-pg. */}}
{{- define "taskflow.postgresql.mode" -}}
{{- if .Values.postgresql.mode -}}
{{- .Values.postgresql.mode -}}
{{- else if .Values.postgresql.enabled -}}
statefulset
{{- else -}}
external
{{- end -}}
{{- end -}}

{{- define "taskflow.cnpg.cluster" -}}
{{- printf "%s-db" (include "taskflow.fullname" .) -}}
{{- end -}}

{{/* "true" when attachments are in object storage. */}}
{{- define "taskflow.s3" -}}
{{- if .Values.blobs.s3.bucket }}true{{ end -}}
{{- end -}}

{{/* "true" when more than one replica may run at once. */}}
{{- define "taskflow.scaledOut" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}true{{ end -}}
{{- end -}}

{{/* "true" when the uploads volume is mounted (attachments on it). */}}
{{- define "taskflow.uploadsVolume" -}}
{{- if and .Values.uploads.persistence.enabled (not .Values.blobs.s3.bucket) }}true{{ end -}}
{{- end -}}

{{- define "taskflow.secretName" -}}
{{- printf "%s-secrets" (include "taskflow.fullname" .) -}}
{{- end -}}

{{/* The Secret and key holding the database password. */}}
{{- define "taskflow.databaseSecretName" -}}
{{- $mode := include "taskflow.postgresql.mode" . -}}
{{- if eq $mode "cloudnative-pg" -}}
{{- printf "%s-app" (include "taskflow.cnpg.cluster" .) -}}
{{- else if eq $mode "statefulset" -}}
{{- default (include "taskflow.secretName" .) .Values.postgresql.existingSecret -}}
{{- else -}}
{{- default (include "taskflow.secretName" .) .Values.externalDatabase.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "taskflow.databaseSecretKey" -}}
{{- $mode := include "taskflow.postgresql.mode" . -}}
{{- if eq $mode "cloudnative-pg" -}}
password
{{- else if eq $mode "statefulset" -}}
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
{{- $mode := include "taskflow.postgresql.mode" . -}}
{{- if eq $mode "cloudnative-pg" -}}
{{- printf "postgres://%s@%s-rw:5432/%s" .Values.postgresql.user (include "taskflow.cnpg.cluster" .) .Values.postgresql.database -}}
{{- else if eq $mode "statefulset" -}}
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
{{- $s3 := include "taskflow.s3" . -}}
{{- $replicas := ternary (printf "autoscaling up to %d replicas" (int .Values.autoscaling.maxReplicas)) (printf "replicaCount %d" (int .Values.replicaCount)) .Values.autoscaling.enabled -}}
{{- if include "taskflow.scaledOut" . -}}
{{- if and (not $s3) (ne .Values.uploads.persistence.accessMode "ReadWriteMany") -}}
{{- fail (printf "%s needs attachments in object storage (blobs.s3.bucket) or uploads.persistence.accessMode: ReadWriteMany (it is %s): every replica must reach every attachment" $replicas .Values.uploads.persistence.accessMode) -}}
{{- end -}}
{{- if and (not $s3) (not .Values.uploads.persistence.enabled) -}}
{{- fail (printf "%s needs blobs.s3.bucket or uploads.persistence.enabled: replicas would each keep different attachments" $replicas) -}}
{{- end -}}
{{- if and .Values.backup.enabled (not .Values.backup.s3.url) (ne .Values.backup.persistence.accessMode "ReadWriteMany") -}}
{{- fail (printf "%s with backup.enabled needs backup.s3.url or backup.persistence.accessMode: ReadWriteMany: every replica mounts the backups claim" $replicas) -}}
{{- end -}}
{{- end -}}
{{- $mode := include "taskflow.postgresql.mode" . -}}
{{- if and (eq $mode "external") (not .Values.externalDatabase.host) -}}
{{- fail "postgresql.mode is external (or postgresql.enabled is false): set externalDatabase.host (and its credentials) to the database Taskflow should use" -}}
{{- end -}}
{{- if and (eq $mode "cloudnative-pg") .Values.cloudnativePG.backup.enabled (or (not .Values.cloudnativePG.backup.destinationPath) (not .Values.cloudnativePG.backup.existingSecret)) -}}
{{- fail "cloudnativePG.backup.enabled needs cloudnativePG.backup.destinationPath (s3://bucket/path) and cloudnativePG.backup.existingSecret (the store's access key)" -}}
{{- end -}}
{{- if and .Values.backup.enabled (not $s3) (not .Values.uploads.persistence.enabled) -}}
{{- fail "backup.enabled needs uploads.persistence.enabled: a backup must read the attachments volume" -}}
{{- end -}}
{{- if and .Values.backup.s3.url (not $s3) -}}
{{- fail "backup.s3.url needs blobs.s3.bucket: archives are written with the object store's endpoint and credentials" -}}
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
  value: {{ .Values.backup.s3.url | default "/backups" | quote }}
{{- end }}
{{- with .Values.blobs.s3 }}
{{- if .bucket }}
- name: TASKFLOW_S3_BUCKET
  value: {{ .bucket | quote }}
- name: TASKFLOW_S3_REGION
  value: {{ .region | quote }}
{{- with .endpoint }}
- name: TASKFLOW_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if not (kindIs "invalid" .pathStyle) }}
- name: TASKFLOW_S3_PATH_STYLE
  value: {{ .pathStyle | quote }}
{{- end }}
{{- if .existingSecret }}
- name: TASKFLOW_S3_ACCESS_KEY_ID_FILE
  value: /run/secrets/taskflow/s3-access-key-id
- name: TASKFLOW_S3_SECRET_ACCESS_KEY_FILE
  value: /run/secrets/taskflow/s3-secret-access-key
{{- end }}
{{- end }}
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
      {{- if and .Values.blobs.s3.bucket .Values.blobs.s3.existingSecret }}
      - secret:
          name: {{ .Values.blobs.s3.existingSecret }}
          items:
            - key: {{ .Values.blobs.s3.accessKeyIdKey }}
              path: s3-access-key-id
            - key: {{ .Values.blobs.s3.secretAccessKeyKey }}
              path: s3-secret-access-key
      {{- end }}
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
