// Names the reconcilers share: finalizers, labels, informer indexes, stack tags.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "drivers/cloud_driver.h"

namespace magnumd::reconcilers {

inline constexpr std::string_view kClusterFinalizer = "container-infra/cluster";
inline constexpr std::string_view kNodeGroupFinalizer = "container-infra/nodegroup";

// Set on the default node groups the cluster reconciler creates: the cluster's uid, and which
// default group it is ("default-master" | "default-worker").
inline constexpr std::string_view kOwnerUidLabel = "container-infra/cluster-uid";
inline constexpr std::string_view kDefaultGroupLabel = "container-infra/default-nodegroup";

// Informer index names.
inline constexpr std::string_view kByUid = "uid";            // Cluster: metadata.uid
inline constexpr std::string_view kByTemplate = "template";  // Cluster: "ns/template"
inline constexpr std::string_view kByCluster = "cluster";    // NodeGroup: "ns/cluster"

// Stack tags beside coe's "magnumd" and "magnumd-cluster=<uid>": what the stack was last
// created or patched with, so the cloud itself records what was applied (crash-safe).
inline constexpr std::string_view kHashTagPrefix = "magnumd-hash=";
inline constexpr std::string_view kGenerationTagPrefix = "magnumd-gen=";

// The name a node group has inside the stack and on its servers' metadata: "default-worker"
// for the defaults, metadata.name otherwise.
std::string groupNameOf(const api::Object& nodegroup);
// "<cluster>-default-worker": the object name of a default node group.
std::string defaultGroupObjectName(std::string_view cluster, std::string_view group);

// Stable (FNV-1a 64, hex) hash of a stack definition: template text, files (provider templates)
// and parameters, except the removal lists (which name victims, not the desired shape).
std::string definitionHash(const std::string& template_text,
                           const std::map<std::string, std::string>& files,
                           const std::map<std::string, std::string>& parameters);

std::optional<std::string> tagValue(const std::vector<std::string>& tags, std::string_view prefix);
std::optional<int64_t> generationTag(const drivers::Stack& stack);

}  // namespace magnumd::reconcilers
