#!/bin/bash
# Runs first on every node: makes the kubelet, kubeadm and kubectl the node runs the version the
# cluster wants (KUBERNETES_VERSION in /etc/magnumd/bootstrap.env, from kube_tag). An image built
# for that version (image-builder's, Magnum's *-kube-vX.Y.Z) already has them and nothing is
# done; otherwise the matching packages come from pkgs.k8s.io, so a kube_tag change rolls nodes
# onto the new version even on the same image.
set -o errexit -o nounset -o pipefail

# shellcheck source=/dev/null
. /etc/magnumd/bootstrap.env
want="${KUBERNETES_VERSION#v}"

if command -v kubelet >/dev/null && [ "$(kubelet --version)" = "Kubernetes v${want}" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "kubelet is not v${want} and this image has no apt-get: use an image with Kubernetes v${want}" >&2
  exit 1
fi
minor="${want%.*}"
install -d -m 0755 /etc/apt/keyrings
curl --fail --silent --show-error --location "https://pkgs.k8s.io/core:/stable:/v${minor}/deb/Release.key" |
  gpg --dearmor --yes --output /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v${minor}/deb/ /" \
  > /etc/apt/sources.list.d/kubernetes.list
apt-get update --quiet
apt-mark unhold kubelet kubeadm kubectl >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get install --quiet --yes --allow-downgrades \
  "kubelet=${want}-*" "kubeadm=${want}-*" "kubectl=${want}-*"
apt-mark hold kubelet kubeadm kubectl
