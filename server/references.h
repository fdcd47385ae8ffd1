// Cross-object admission rules, answered from the store's in-memory reads: which template a
// Cluster (or a NodeGroup's Cluster) uses, and which Clusters use a template.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace magnumd::server {

// Runs api::admitSpec for `object`, resolving the template a Cluster or NodeGroup depends on.
// A missing or inaccessible template (or cluster, for a NodeGroup) is an Invalid cause beside
// the spec's own causes. The message names the object: `clusters "prod" is invalid: ...`.
util::Result<std::string> admitWithReferences(const store::Store& store, const api::Object& object);

// "namespace/name" of every Cluster whose spec.clusterTemplate resolves to this template.
util::Result<std::vector<std::string>> clustersUsingTemplate(const store::Store& store, const std::string& ns,
                                               const std::string& name);

// Magnum's no-downgrade rule on an update of a Cluster or NodeGroup (`next_spec`, admitted):
// the Kubernetes version its nodes would get may not be older than the one they last completed,
// as the cluster's status.rollout records it (api::completedKubernetesVersion; a Cluster is judged
// by its masters). Invalid at spec.labels.kube_tag, spec.labels or spec.clusterTemplate, whichever
// gives the version. Only a change of the version is judged, and nothing without a record.
util::Status checkNoDowngrade(const store::Store& store, const api::Object& current,
                              std::string_view next_spec);

// A raised spec.caGeneration (a CA rotation): Invalid when it goes down or skips a generation,
// Conflict (409) while a rotation or a rollout runs: rotations are refused then, not queued.
util::Status checkCaRotation(const api::Object& current, std::string_view next_spec);

// Rewrites an Invalid error's message to name the object and list every cause.
util::Error describeInvalid(util::Error error, api::Kind kind, const std::string& name);

}  // namespace magnumd::server
