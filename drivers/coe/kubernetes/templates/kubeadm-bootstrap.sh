#!/bin/bash
# Runs on every control-plane node of a node group whose servers share one user_data. The member
# with index 0 initialises the cluster, unless the control plane already answers at the stable
# endpoint (that member is then a replacement of the first master and joins like the others);
# every other member waits for the control plane and joins it.
set -o errexit -o nounset -o pipefail

# shellcheck source=/dev/null
. /etc/magnumd/bootstrap.env

answers() {
  curl --silent --insecure --fail --max-time 5 "https://${API_ENDPOINT}/healthz" >/dev/null
}

if [ "${MEMBER_INDEX}" = "0" ] && ! answers; then
  kubeadm init --config /run/kubeadm/kubeadm.yaml
  /usr/local/lib/magnumd/install-cni.sh
  exit 0
fi

for attempt in $(seq 1 90); do
  if answers; then
    break
  fi
  echo "waiting for the control plane at ${API_ENDPOINT} (${attempt}/90)" >&2
  sleep 10
done
kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml
