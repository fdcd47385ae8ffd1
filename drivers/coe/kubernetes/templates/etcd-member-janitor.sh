#!/bin/bash
# Takes etcd members out of the cluster once their Kubernetes Node is gone. magnumd deletes a
# master's Node before Heat removes its server (a rolling replacement, an auto-heal), and the
# masters that stay then remove its etcd member, so a departed master never counts against
# etcd's quorum: what Cluster API's KubeadmControlPlane does through etcd's API before it
# deletes a machine. Runs every 20 seconds on every master (magnumd-etcd-janitor.timer).
set -o errexit -o nounset -o pipefail

export KUBECONFIG=/etc/kubernetes/admin.conf
state=/run/magnumd/etcd-janitor
grace_seconds=60
mkdir -p "${state}"

container=$(crictl ps --name '^etcd$' --state running --quiet | head -n 1)
if [ -z "${container}" ]; then
  exit 0
fi

etcdctl() {
  crictl exec "${container}" etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}

# Only with an API that answers: an outage must not look like every Node being gone.
if ! nodes=$(kubectl get nodes --output 'jsonpath={.items[*].metadata.name}'); then
  exit 0
fi
self=$(hostname)
now=$(date +%s)

# "8e9e05c52164694d, started, prod-default-master-0, https://10.0.0.5:2380, https://..., false"
etcdctl member list | while IFS=', ' read -r id status name _; do
  if [ "${status}" != "started" ] || [ "${name}" = "${self}" ]; then
    continue
  fi
  case " ${nodes} " in
    *" ${name} "*)
      rm -f "${state}/${name}"
      continue
      ;;
  esac
  # Gone twice, a grace period apart: a master that is just joining has no Node for a moment.
  if [ ! -f "${state}/${name}" ]; then
    echo "${now}" > "${state}/${name}"
    continue
  fi
  first=$(cat "${state}/${name}")
  if [ $((now - first)) -lt "${grace_seconds}" ]; then
    continue
  fi
  echo "etcd member ${name} (${id}) has no Node since $(date -d "@${first}"): removing it" >&2
  etcdctl member remove "${id}"
  rm -f "${state}/${name}"
done
