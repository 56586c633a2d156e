{{/*
Shared helpers. Templates that render one object per service call these with
(dict "root" $ "svc" $name) so that names and labels are built in one place.
*/}}

{{/* Prefix of every object name: the release name, plus the chart name unless already in it. */}}
{{- define "liandiao.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Name of one service's objects, e.g. liandiao-1505-intake. */}}
{{- define "liandiao.svcName" -}}
{{- printf "%s-%s" (include "liandiao.fullname" .root) .svc | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* LIANDIAO_RELEASE: names this release's consumer groups. */}}
{{- define "liandiao.release" -}}
{{- default .Release.Name .Values.release -}}
{{- end -}}

{{- define "liandiao.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc }}
{{- end -}}

{{- define "liandiao.labels" -}}
{{ include "liandiao.selectorLabels" . }}
app.kubernetes.io/part-of: liandiao
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of objects that belong to the release, not to one service (Kafka topics). */}}
{{- define "liandiao.releaseLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: liandiao
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Image of a service: services.<svc>.image, else <images.repository>/liandiao-<svc>:<tag>. */}}
{{- define "liandiao.image" -}}
{{- $cfg := index .root.Values.services .svc -}}
{{- if $cfg.image -}}
{{- $cfg.image -}}
{{- else -}}
{{- $repo := trimSuffix "/" .root.Values.images.repository -}}
{{- $name := printf "liandiao-%s" .svc -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.images.tag -}}
{{- if $repo -}}{{ printf "%s/%s:%s" $repo $name $tag }}{{- else -}}{{ printf "%s:%s" $name $tag }}{{- end -}}
{{- end -}}
{{- end -}}

{{/* Topic shards: the province's prefectures plus "00" for province-level facts. */}}
{{- define "liandiao.shards" -}}
{{- toJson (append (.Values.province.prefectures | default list) "00") -}}
{{- end -}}

{{/*
Checks across values that a JSON schema cannot express. templates/validate.yaml calls it, so
`helm lint`, `helm template` and `helm install` stop with the reason.
*/}}
{{- define "liandiao.validate" -}}
{{- $v := .Values -}}
{{- if and $v.prefectures $v.excludePrefectures -}}
{{- fail "set either prefectures (a region release) or excludePrefectures (the province-wide release), not both" -}}
{{- end -}}
{{- range $p := concat ($v.prefectures | default list) ($v.excludePrefectures | default list) -}}
{{- if not (has $p $v.province.prefectures) -}}
{{- fail (printf "prefecture %q is not in province.prefectures %v" $p $v.province.prefectures) -}}
{{- end -}}
{{- end -}}
{{- range $name, $cfg := $v.services -}}
{{- if and $cfg.create $cfg.provinceWide $v.prefectures -}}
{{- fail (printf "services.%s is province-wide (it reads every prefecture's events); a region release (prefectures set) cannot run it: create: false" $name) -}}
{{- end -}}
{{- end -}}
{{- $release := include "liandiao.release" . -}}
{{- if not (regexMatch "^[a-z0-9][a-z0-9-]{0,40}$" $release) -}}
{{- fail (printf "LIANDIAO_RELEASE %q (release, or the Helm release name) must be lower-case letters, digits and '-', at most 41 characters" $release) -}}
{{- end -}}
{{- range $name, $_ := $v.extraEnv -}}
{{- if has $name (list "LIANDIAO_DATABASE_URL" "LIANDIAO_KAFKA_BOOTSTRAP" "LIANDIAO_GRPC_PORT" "LIANDIAO_METRICS_PORT" "LIANDIAO_PREFECTURES" "LIANDIAO_EXCLUDE_PREFECTURES" "LIANDIAO_RELEASE" "LIANDIAO_OTLP_ENDPOINT" "LIANDIAO_PII_KEY" "LIANDIAO_PII_KEYS" "LIANDIAO_PII_KEY_ID" "LIANDIAO_FINGERPRINT_KEY" "LIANDIAO_JWKS_FILE" "LIANDIAO_TOKEN_ISSUER" "LIANDIAO_TOKEN_AUDIENCE" "LIANDIAO_LOG_LEVEL" "LIANDIAO_ENV" "LIANDIAO_TOPIC_PARTITIONS" "LIANDIAO_GRPC_MAX_CONCURRENT_RPCS" "LIANDIAO_SHUTDOWN_DRAIN_MS" "LIANDIAO_CALENDAR_FILE" "LIANDIAO_GRPC_HOST" "LIANDIAO_METRICS_HOST" "LIANDIAO_HEALTH_PORT" "LIANDIAO_TLS_CERT_FILE" "LIANDIAO_TLS_KEY_FILE" "LIANDIAO_TLS_CA_FILE" "LIANDIAO_TLS_CLIENT_CA_FILE" "LIANDIAO_KAFKA_SECURITY_PROTOCOL" "LIANDIAO_KAFKA_CA_FILE" "LIANDIAO_KAFKA_SASL_MECHANISM" "LIANDIAO_KAFKA_SASL_USERNAME" "LIANDIAO_KAFKA_SASL_PASSWORD" "LIANDIAO_CONFIRMATION_KEYS_FILE" "LIANDIAO_CONSOLE_BASE_URL") -}}
{{- fail (printf "extraEnv.%s: set by the chart from its own value; use that value instead" $name) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.environment "production") (not $v.identity.issuer) -}}
{{- fail "identity.issuer: the provincial identity provider's issuer is required in production (LIANDIAO_TOKEN_ISSUER)" -}}
{{- end -}}
{{- if and (eq $v.environment "production") $v.console.create (not $v.console.oidc.metadataUrl) -}}
{{- fail "console.oidc.metadataUrl is required in production: staff sign in with the provincial identity provider" -}}
{{- end -}}
{{- if and (eq $v.environment "production") $v.services.intake.create (not (include "liandiao.consoleBaseUrl" .)) -}}
{{- fail "console.baseUrl is required in production (or console.ingress enabled with its host): intake prints the parties' status page address on every receipt (LIANDIAO_CONSOLE_BASE_URL)" -}}
{{- end -}}
{{- if and (eq $v.environment "production") (hasPrefix "http://" $v.console.baseUrl) -}}
{{- fail "console.baseUrl must be https in production: the receipt's QR code is public" -}}
{{- end -}}
{{- if eq $v.environment "production" -}}
{{- if not (and $v.tls.enabled $v.tls.secretName) -}}
{{- fail "tls.enabled and tls.secretName: gRPC over TLS is required in production (LIANDIAO_TLS_CERT_FILE)" -}}
{{- end -}}
{{- if not (has $v.kafka.security.protocol (list "SSL" "SASL_SSL")) -}}
{{- fail "kafka.security.protocol: SSL or SASL_SSL is required in production (LIANDIAO_KAFKA_SECURITY_PROTOCOL)" -}}
{{- end -}}
{{- if not $v.kafka.security.caSecret -}}
{{- fail "kafka.security.caSecret: the brokers' CA is required in production (LIANDIAO_KAFKA_CA_FILE)" -}}
{{- end -}}
{{- if not (has $v.database.tls.sslmode (list "verify-full" "verify-ca")) -}}
{{- fail "database.tls.sslmode: verify-full (or verify-ca) is required in production (PGSSLMODE)" -}}
{{- end -}}
{{- if not $v.database.tls.caSecret -}}
{{- fail "database.tls.caSecret: the PostgreSQL server's CA is required in production (PGSSLROOTCERT)" -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.kafka.security.protocol "SASL_SSL") (not (and $v.kafka.security.sasl.username $v.kafka.security.sasl.existingSecret)) -}}
{{- fail "kafka.security.sasl.username and existingSecret: SASL_SSL needs the SCRAM credentials (LIANDIAO_KAFKA_SASL_USERNAME, LIANDIAO_KAFKA_SASL_PASSWORD)" -}}
{{- end -}}
{{- if lt (int $v.terminationGracePeriodSeconds) (add (int $v.shutdownDrainSeconds) 10 | int) -}}
{{- fail (printf "terminationGracePeriodSeconds %v leaves too little time after the %vs shutdown drain: give it at least 10s more" $v.terminationGracePeriodSeconds $v.shutdownDrainSeconds) -}}
{{- end -}}
{{- range $svc, $cfg := $v.services -}}
{{- if and $cfg.create (gt (int $cfg.autoscaling.min) (int $cfg.autoscaling.max)) -}}
{{- fail (printf "services.%s.autoscaling: min %v is above max %v" $svc $cfg.autoscaling.min $cfg.autoscaling.max) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Environment of a service container (and of its migrate init container: same config). */}}
{{- define "liandiao.env" -}}
{{- $v := .root.Values -}}
- name: LIANDIAO_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.existingSecret }}
      key: {{ replace "{service}" .svc $v.database.key }}
- name: LIANDIAO_KAFKA_BOOTSTRAP
  value: {{ $v.kafka.bootstrap | quote }}
- name: LIANDIAO_GRPC_PORT
  value: "50051"
- name: LIANDIAO_METRICS_PORT
  value: "9464"
# Listeners bind the pod's own address (the services bind loopback unless told), never 0.0.0.0.
- name: LIANDIAO_GRPC_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: LIANDIAO_METRICS_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- if $v.tls.enabled }}
- name: LIANDIAO_TLS_CERT_FILE
  value: /etc/liandiao/tls/tls.crt
- name: LIANDIAO_TLS_KEY_FILE
  value: /etc/liandiao/tls/tls.key
- name: LIANDIAO_TLS_CA_FILE
  value: /etc/liandiao/tls/ca.crt
{{- if $v.tls.mutual }}
- name: LIANDIAO_TLS_CLIENT_CA_FILE
  value: /etc/liandiao/tls/ca.crt
{{- end }}
- name: LIANDIAO_HEALTH_PORT
  value: {{ $v.tls.healthPort | quote }}
{{- end }}
- name: LIANDIAO_KAFKA_SECURITY_PROTOCOL
  value: {{ $v.kafka.security.protocol | quote }}
{{- if $v.kafka.security.caSecret }}
- name: LIANDIAO_KAFKA_CA_FILE
  value: /etc/liandiao/kafka/{{ $v.kafka.security.caKey }}
{{- end }}
{{- if eq $v.kafka.security.protocol "SASL_SSL" }}
- name: LIANDIAO_KAFKA_SASL_MECHANISM
  value: {{ $v.kafka.security.sasl.mechanism | quote }}
- name: LIANDIAO_KAFKA_SASL_USERNAME
  value: {{ replace "{service}" .svc $v.kafka.security.sasl.username | quote }}
- name: LIANDIAO_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ replace "{service}" .svc $v.kafka.security.sasl.existingSecret }}
      key: {{ $v.kafka.security.sasl.passwordKey }}
{{- end }}
{{- if ne $v.database.tls.sslmode "disable" }}
- name: PGSSLMODE
  value: {{ $v.database.tls.sslmode | quote }}
{{- end }}
{{- if $v.database.tls.caSecret }}
- name: PGSSLROOTCERT
  value: /etc/liandiao/database/{{ $v.database.tls.caKey }}
{{- end }}
{{- $wide := (index $v.services .svc).provinceWide }}
- name: LIANDIAO_PREFECTURES
  value: {{ if $wide }}""{{ else }}{{ join "," ($v.prefectures | default list) | quote }}{{ end }}
- name: LIANDIAO_EXCLUDE_PREFECTURES
  value: {{ if $wide }}""{{ else }}{{ join "," ($v.excludePrefectures | default list) | quote }}{{ end }}
- name: LIANDIAO_RELEASE
  value: {{ include "liandiao.release" .root | quote }}
{{- if $v.otlp.endpoint }}
- name: LIANDIAO_OTLP_ENDPOINT
  value: {{ $v.otlp.endpoint | quote }}
{{- end }}
- name: LIANDIAO_PII_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.secrets.existingSecret }}
      key: {{ $v.secrets.piiKeyKey }}
- name: LIANDIAO_FINGERPRINT_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.secrets.existingSecret }}
      key: {{ $v.secrets.fingerprintKeyKey }}
- name: LIANDIAO_JWKS_FILE
  value: /etc/liandiao/identity/{{ $v.identity.jwksKey }}
- name: LIANDIAO_TOKEN_ISSUER
  value: {{ $v.identity.issuer | quote }}
- name: LIANDIAO_TOKEN_AUDIENCE
  value: {{ $v.identity.audience | quote }}
- name: LIANDIAO_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: LIANDIAO_ENV
  value: {{ $v.environment | quote }}
- name: LIANDIAO_TOPIC_PARTITIONS
  value: {{ $v.kafka.topics.partitions | quote }}
- name: LIANDIAO_GRPC_MAX_CONCURRENT_RPCS
  value: {{ $v.grpcMaxConcurrentRpcs | quote }}
- name: LIANDIAO_SHUTDOWN_DRAIN_MS
  value: {{ mul $v.shutdownDrainSeconds 1000 | quote }}
{{- if $v.holidayCalendar.file }}
- name: LIANDIAO_CALENDAR_FILE
  value: /etc/liandiao/calendar/calendar.json
{{- end }}
{{- $consoleUrl := include "liandiao.consoleBaseUrl" .root }}
{{- if and (eq .svc "intake") $consoleUrl }}
- name: LIANDIAO_CONSOLE_BASE_URL
  value: {{ $consoleUrl | quote }}
{{- end }}
{{- if eq .svc "confirmation" }}
- name: LIANDIAO_CONFIRMATION_KEYS_FILE
  value: /etc/liandiao/court-keys/{{ $v.courtKeys.keysFile }}
{{- end }}
{{- if eq .svc "notification" }}
{{ include "liandiao.notificationEnv" . }}
{{- end }}
{{- range $name, $value := $v.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "liandiao.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Mounts of both containers: a writable /tmp (the root filesystem is read-only), the calendar. */}}
{{- define "liandiao.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: identity
  mountPath: /etc/liandiao/identity
  readOnly: true
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/liandiao/tls
  readOnly: true
{{- end }}
{{- if .Values.kafka.security.caSecret }}
- name: kafka-ca
  mountPath: /etc/liandiao/kafka
  readOnly: true
{{- end }}
{{- if .Values.database.tls.caSecret }}
- name: database-ca
  mountPath: /etc/liandiao/database
  readOnly: true
{{- end }}
{{- if .Values.holidayCalendar.file }}
- name: calendar
  mountPath: /etc/liandiao/calendar
  readOnly: true
{{- end }}
{{- end -}}


{{/* Notification's channels and contact reads (values: notification). */}}
{{- define "liandiao.notificationEnv" -}}
{{- $n := .root.Values.notification -}}
{{- $intake := include "liandiao.svcName" (dict "root" .root "svc" "intake") -}}
{{- $personnel := include "liandiao.svcName" (dict "root" .root "svc" "personnel") -}}
- name: LIANDIAO_INTAKE_ADDRESS
  value: {{ $n.contacts.intake | default (printf "%s:50051" $intake) | quote }}
- name: LIANDIAO_PERSONNEL_ADDRESS
  value: {{ $n.contacts.personnel | default (printf "%s:50051" $personnel) | quote }}
- name: LIANDIAO_SERVICE_TOKEN_FILE
  value: /etc/liandiao/service-token/token
- name: LIANDIAO_NOTIFICATION_CONTACTS_TTL_SECONDS
  value: {{ $n.contacts.ttlSeconds | quote }}
{{- if $n.sms.enabled }}
- name: LIANDIAO_SMS_URL
  value: {{ $n.sms.url | quote }}
- name: LIANDIAO_SMS_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $n.sms.existingSecret }}
      key: {{ $n.sms.apiKeyKey }}
- name: LIANDIAO_SMS_SIGN_NAME
  value: {{ $n.sms.signName | quote }}
- name: LIANDIAO_SMS_SUCCESS_CODES
  value: {{ join "," $n.sms.successCodes | quote }}
- name: LIANDIAO_SMS_TIMEOUT_SECONDS
  value: {{ $n.sms.timeoutSeconds | quote }}
{{- with $n.sms.templateIds }}
- name: LIANDIAO_SMS_TEMPLATE_IDS
  value: {{ $pairs := list }}{{ range $ours, $theirs := . }}{{ $pairs = append $pairs (printf "%s=%s" $ours $theirs) }}{{ end }}{{ join "," $pairs | quote }}
{{- end }}
{{- if $n.sms.receipts.enabled }}
- name: LIANDIAO_SMS_RECEIPT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $n.sms.existingSecret }}
      key: {{ $n.sms.receipts.secretKey }}
- name: LIANDIAO_NOTIFICATION_RECEIPTS_PORT
  value: {{ $n.sms.receipts.port | quote }}
- name: LIANDIAO_NOTIFICATION_RECEIPTS_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: LIANDIAO_SMS_DELIVERED_CODES
  value: {{ join "," ($n.sms.receipts.deliveredCodes | default (list "DELIVERED")) | quote }}
{{- end }}
{{- end }}
{{- if $n.smtp.enabled }}
- name: LIANDIAO_SMTP_HOST
  value: {{ $n.smtp.host | quote }}
- name: LIANDIAO_SMTP_PORT
  value: {{ $n.smtp.port | quote }}
- name: LIANDIAO_SMTP_SENDER
  value: {{ $n.smtp.sender | quote }}
- name: LIANDIAO_SMTP_STARTTLS
  value: {{ ternary "true" "false" $n.smtp.starttls | quote }}
{{- with $n.smtp.username }}
- name: LIANDIAO_SMTP_USERNAME
  value: {{ . | quote }}
- name: LIANDIAO_SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $n.smtp.existingSecret }}
      key: {{ $n.smtp.passwordKey }}
{{- end }}
{{- if $n.smtp.caSecret }}
- name: LIANDIAO_SMTP_CA_FILE
  value: /etc/liandiao/smtp-ca/ca.crt
{{- end }}
{{- end }}
{{- if $n.webhooks.existingSecret }}
- name: LIANDIAO_WEBHOOKS_FILE
  value: /etc/liandiao/webhooks/{{ $n.webhooks.webhooksKey }}
{{- end }}
{{- end -}}

{{/* Notification's mounts: its service token, the webhook receivers, a private relay's CA. */}}
{{- define "liandiao.notificationMounts" -}}
{{- $n := .Values.notification -}}
- name: service-token
  mountPath: /etc/liandiao/service-token
  readOnly: true
{{- if $n.webhooks.existingSecret }}
- name: webhooks
  mountPath: /etc/liandiao/webhooks
  readOnly: true
{{- end }}
{{- if and $n.smtp.enabled $n.smtp.caSecret }}
- name: smtp-ca
  mountPath: /etc/liandiao/smtp-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "liandiao.notificationVolumes" -}}
{{- $n := .Values.notification -}}
- name: service-token
  secret:
    secretName: {{ $n.contacts.serviceTokenSecret }}
    defaultMode: 0440
    items:
      - {key: token, path: token}
{{- if $n.webhooks.existingSecret }}
- name: webhooks
  secret:
    secretName: {{ $n.webhooks.existingSecret }}
    defaultMode: 0440
    items:
      - {key: {{ $n.webhooks.webhooksKey }}, path: {{ $n.webhooks.webhooksKey }}}
{{- end }}
{{- if and $n.smtp.enabled $n.smtp.caSecret }}
- name: smtp-ca
  secret:
    secretName: {{ $n.smtp.caSecret }}
    items:
      - {key: ca.crt, path: ca.crt}
{{- end }}
{{- end -}}

{{/* The console's public address for the parties' status page link on receipts: console.baseUrl,
else https://<console.ingress.host> when the console's ingress is enabled, else nothing. */}}
{{- define "liandiao.consoleBaseUrl" -}}
{{- $c := .Values.console -}}
{{- if $c.baseUrl -}}
{{- trimSuffix "/" $c.baseUrl -}}
{{- else if and $c.ingress.enabled $c.ingress.host -}}
{{- printf "https://%s" $c.ingress.host -}}
{{- end -}}
{{- end -}}
