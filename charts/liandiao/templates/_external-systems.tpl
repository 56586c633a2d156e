{{/* Environment of the external-systems adapter (services/intake/external/main.py lists it). */}}
{{- define "liandiao.externalEnv" -}}
{{- $v := .root.Values -}}
{{- $x := .x -}}
- name: LIANDIAO_ENV
  value: {{ $v.environment | quote }}
- name: LIANDIAO_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: LIANDIAO_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.existingSecret }}
      key: {{ replace "{service}" "external-systems" $v.database.key }}
{{- if ne $v.database.tls.sslmode "disable" }}
- name: PGSSLMODE
  value: {{ $v.database.tls.sslmode | quote }}
{{- end }}
{{- if $v.database.tls.caSecret }}
- name: PGSSLROOTCERT
  value: /etc/liandiao/database/{{ $v.database.tls.caKey }}
{{- end }}
- name: LIANDIAO_EXTERNAL_SYSTEMS_FILE
  value: /etc/liandiao/external-systems/systems.toml
- name: LIANDIAO_EXTERNAL_SIGNATURE_WINDOW_SECONDS
  value: {{ $x.signatureWindowSeconds | quote }}
- name: LIANDIAO_INTAKE_ADDRESS
  value: "{{ .intake }}:50051"
- name: LIANDIAO_HTTP_PORT
  value: {{ $x.port | quote }}
- name: LIANDIAO_HEALTH_PORT
  value: {{ $x.healthPort | quote }}
# Listeners bind the pod's own address, never 0.0.0.0.
- name: LIANDIAO_HTTP_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: LIANDIAO_METRICS_PORT
  value: "9464"
{{- if $v.otlp.endpoint }}
- name: LIANDIAO_OTLP_ENDPOINT
  value: {{ $v.otlp.endpoint | quote }}
{{- end }}
- name: LIANDIAO_HTTP_TLS_CERT_FILE
  value: /etc/liandiao/http-tls/tls.crt
- name: LIANDIAO_HTTP_TLS_KEY_FILE
  value: /etc/liandiao/http-tls/tls.key
{{- if $x.httpTls.clientCaSecret }}
- name: LIANDIAO_HTTP_CLIENT_CA_FILE
  value: /etc/liandiao/http-client-ca/ca.crt
{{- end }}
- name: LIANDIAO_SERVICE_TOKEN_FILE
  value: /etc/liandiao/service-token/token
{{- if $v.tls.enabled }}
- name: LIANDIAO_TLS_CERT_FILE
  value: /etc/liandiao/tls/tls.crt
- name: LIANDIAO_TLS_KEY_FILE
  value: /etc/liandiao/tls/tls.key
- name: LIANDIAO_TLS_CA_FILE
  value: /etc/liandiao/tls/ca.crt
{{- end }}
{{- end -}}

{{- define "liandiao.externalMounts" -}}
- name: tmp
  mountPath: /tmp
- name: systems
  mountPath: /etc/liandiao/external-systems
  readOnly: true
- name: http-tls
  mountPath: /etc/liandiao/http-tls
  readOnly: true
{{- if .Values.externalSystems.httpTls.clientCaSecret }}
- name: http-client-ca
  mountPath: /etc/liandiao/http-client-ca
  readOnly: true
{{- end }}
- name: service-token
  mountPath: /etc/liandiao/service-token
  readOnly: true
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/liandiao/tls
  readOnly: true
{{- end }}
{{- if .Values.database.tls.caSecret }}
- name: database-ca
  mountPath: /etc/liandiao/database
  readOnly: true
{{- end }}
{{- end -}}
