#!/bin/bash
# Runs before kubeadm on every node: makes containerd and the kubelet pick up the files cloud-init
# has just written (proxy drop-ins, registry hosts), so image pulls during kubeadm use them.
set -o errexit -o nounset -o pipefail

systemctl daemon-reload
systemctl restart containerd
systemctl enable kubelet
