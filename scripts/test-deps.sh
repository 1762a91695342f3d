#!/usr/bin/env bash
# Installs the independent MQTT peers the integration tests talk to, when missing:
# mosquitto_pub/mosquitto_sub (Debian mosquitto-clients), the mosquitto broker (for benchmarks)
# and Python paho-mqtt.
set -eu
need_apt=()
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: apt-get install ${need_apt[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >/dev/null
  else
    echo "test-deps: cannot install ${need_apt[*]} (no apt-get)" >&2
    exit 1
  fi
fi
if ! python3 -c 'import paho.mqtt.client' >/dev/null 2>&1; then
  echo "test-deps: pip install paho-mqtt"
  python3 -m pip install -q 'paho-mqtt>=2,<3' >/dev/null
fi
