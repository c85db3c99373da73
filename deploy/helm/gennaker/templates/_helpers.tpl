{{/* The release's resource names and labels, shared by every template. */}}

{{- define "gennaker.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gennaker.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The broker's URL: Bitnami's RabbitMQ of this release, or amqp.url. */}}
{{- define "gennaker.amqpUrl" -}}
{{- if .Values.rabbitmq.enabled -}}
{{- $password := required "rabbitmq.auth.password is required with rabbitmq.enabled" .Values.rabbitmq.auth.password -}}
{{- printf "amqp://%s:%s@%s-rabbitmq:5672/" .Values.rabbitmq.auth.username $password .Release.Name -}}
{{- else -}}
{{- required "set amqp.url (or amqp.existingSecret, or rabbitmq.enabled=true): the services need RabbitMQ" .Values.amqp.url -}}
{{- end -}}
{{- end -}}

{{/* The store's URL: Bitnami's MongoDB replica set of this release, or mongodb.url. */}}
{{- define "gennaker.mongoUrl" -}}
{{- if .Values.mongodb.enabled -}}
{{- $password := required "mongodb.auth.rootPassword is required with mongodb.enabled" .Values.mongodb.auth.rootPassword -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.mongodb.replicaCount) -}}
{{- $hosts = append $hosts (printf "%s-mongodb-%d.%s-mongodb-headless:27017" $.Release.Name $i $.Release.Name) -}}
{{- end -}}
{{- printf "mongodb://%s:%s@%s/?replicaSet=%s&authSource=admin" .Values.mongodb.auth.rootUser $password (join "," $hosts) .Values.mongodb.replicaSetName -}}
{{- else -}}
{{- required "set mongodb.url (or mongodb.existingSecret, or mongodb.enabled=true): the workers need a MongoDB replica set" .Values.mongodb.url -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the gateway and the workers: the settings file, the Secret's variables over it. */}}
{{- define "gennaker.env" -}}
- name: GENNAKER_SETTINGS_FILE
  value: /etc/gennaker/settings.yaml
{{- with .Values.amqp.existingSecret }}
- name: GENNAKER_AMQP_URL
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: GENNAKER_AMQP_URL}
{{- end }}
{{- with .Values.mongodb.existingSecret }}
- name: GENNAKER_MONGO_URL
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: GENNAKER_MONGO_URL}
{{- end }}
{{- end }}

{{/* The Secret's variables and the settings file and data directory, for either container. */}}
{{- define "gennaker.mounts" -}}
envFrom:
  - secretRef:
      name: {{ include "gennaker.fullname" . }}-secrets
volumeMounts:
  - name: settings
    mountPath: /etc/gennaker
    readOnly: true
  - name: data
    mountPath: /data
{{- end }}

{{- define "gennaker.pod" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: settings
    configMap:
      name: {{ include "gennaker.fullname" .root }}-settings
  - name: data
    emptyDir: {}
{{- end -}}
