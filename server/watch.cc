#include "server/watch.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <array>
#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "server/codec.h"
#include "server/object_json.h"
#include "server/status.h"
#include "util/log.h"

namespace magnumd::server {

namespace asio = boost::asio;
namespace http = net::http;
using util::ErrorCode;
using util::makeError;

namespace {

constexpr size_t kChunkBytes = 256 * 1024;

const char* typeName(store::EventType type) {
  switch (type) {
    case store::EventType::Added: return "ADDED";
    case store::EventType::Modified: return "MODIFIED";
    case store::EventType::Deleted: return "DELETED";
  }
  return "MODIFIED";
}

void appendEvent(std::string& out, const char* type, const api::Object& object) {
  out += R"({"type":")";
  out += type;
  out += R"(","object":)";
  appendObjectJson(out, object);
  out += "}\n";
}

std::string bookmarkLine(api::Kind kind, int64_t revision, bool initial_events_end) {
  std::string annotations =
      initial_events_end ? R"(,"annotations":{"k8s.io/initial-events-end":"true"})" : "";
  return fmt::format(
      R"({{"type":"BOOKMARK","object":{{"kind":"{}","apiVersion":"{}","metadata":{{"resourceVersion":"{}"{}}}}}}})"
      "\n",
      api::kindInfo(kind).name, api::kApiVersion, revision, annotations);
}

// A Table watch's bookmark: a Table without rows carrying the revision (a Table has no
// annotations, so the initial-events-end marker has no place in it).
std::string tableBookmarkLine(Conversion version, int64_t revision) {
  return fmt::format(
      R"({{"type":"BOOKMARK","object":{{"kind":"Table","apiVersion":"{}","metadata":{{"resourceVersion":"{}"}},"columnDefinitions":[],"rows":[]}}}})"
      "\n",
      tableApiVersion(version), revision);
}

// Bytes a queued object stands for until it is encoded (Table streams queue objects).
size_t approximateBytes(const api::Object& object) {
  return object.spec.size() + object.status.size() + object.metadata.name.size() + 512;
}

std::string errorLine(const util::Error& error) {
  return R"({"type":"ERROR","object":)" + failureStatusJson(error) + "}\n";
}

}  // namespace

// Event lines shared by every stream. The store hands each event to all watchers in turn from
// one thread, so the first stream that needs an event encodes it and the others reuse the text:
// one encoding and one copy per event instead of one per watcher. Keyed by revision (each
// revision is exactly one event) and type; holds the most recent `kCapacity` lines.
class EncodedEvents {
 public:
  // `type` is the event's own type, or what a selector watch turns it into (ADDED when an
  // object starts matching, DELETED when it stops).
  std::shared_ptr<const std::string> line(const store::WatchEvent& event, store::EventType type) {
    const int64_t key = event.object.metadata.resource_version * 4 + static_cast<int64_t>(type);
    std::lock_guard lock(mutex_);
    if (auto it = lines_.find(key); it != lines_.end()) return it->second;
    auto text = std::make_shared<std::string>();
    text->reserve(event.object.spec.size() + event.object.status.size() + 512);
    appendEvent(*text, typeName(type), event.object);
    lines_.emplace(key, text);
    order_.push_back(key);
    if (order_.size() > kCapacity) {
      lines_.erase(order_.front());
      order_.pop_front();
    }
    return text;
  }

 private:
  static constexpr size_t kCapacity = 1024;
  std::mutex mutex_;
  std::unordered_map<int64_t, std::shared_ptr<const std::string>> lines_;
  std::deque<int64_t> order_;
};

class WatchStream : public std::enable_shared_from_this<WatchStream> {
 public:
  WatchStream(WatchHub& hub, WatchRequest request)
      : hub_(hub), request_(std::move(request)), track_matches_(!request_.filter.empty()) {}
  ~WatchStream() { hub_.erase(this, request_.user); }
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  asio::awaitable<void> run(net::ChunkWriter& writer);

  void stop() {
    stop_ = true;
    wake();
  }

 private:
  struct Queued {
    int64_t revision = 0;
    store::EventType type = store::EventType::Modified;
    std::shared_ptr<const std::string> line;  // the NDJSON line, shared with other streams
    std::shared_ptr<const api::Object> object;  // instead of `line` on Table streams
  };
  struct Drained {
    std::deque<Queued> events;
    bool overflowed = false;
    std::optional<util::Error> ended;  // the store ended the watch
  };

  void onEvents(std::span<const store::WatchEvent> events);
  void onEnd(const util::Error& why);
  // The type this stream shows the event as, or nullopt when the stream skips it.
  std::optional<store::EventType> typeFor(const store::WatchEvent& event);
  void wake();
  Drained drain();
  bool idle();
  asio::awaitable<bool> sendInitialState(net::ChunkWriter& writer, int64_t& revision);
  asio::awaitable<bool> write(net::ChunkWriter& writer, std::string data);
  void countEvents(const std::array<size_t, 3>& by_type);
  // One event line: the shared encoding of the object, or on a Table stream a one-row Table.
  void appendLine(std::string& out, const char* type, const api::Object& object);
  std::string bookmark(int64_t revision, bool initial_events_end) const;

  WatchHub& hub_;
  WatchRequest request_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> wake_pending_{false};

  // Selector watches, as kube-apiserver: an object that starts matching arrives as ADDED, one
  // that stops matching as DELETED. `matched_` holds the keys this stream has shown as present;
  // it is exact when the stream began with the initial state, and otherwise starts empty (a
  // resumed stream cannot know what matched at its revision, so it reports transitions from the
  // first event it sees for each object). A synthetic DELETED carries the object as it is now
  // (kube-apiserver sends the previous state, which the store's events do not carry); clients
  // remove by key either way. Only the store's dispatcher thread touches it once the watch is
  // registered.
  bool track_matches_ = false;
  bool matches_exact_ = false;
  std::unordered_set<std::string> matched_;
  bool table_headers_sent_ = false;  // Table streams: only the first event has the columns

  std::mutex mutex_;  // guards the fields below
  std::deque<Queued> queue_;
  size_t queued_bytes_ = 0;
  bool overflowed_ = false;
  std::optional<util::Error> ended_;
  std::optional<asio::any_io_executor> executor_;
  std::shared_ptr<asio::steady_timer> timer_;
};

void WatchStream::onEvents(std::span<const store::WatchEvent> events) {
  {
    std::lock_guard lock(mutex_);
    if (overflowed_) return;
    for (const auto& event : events) {
      auto type = typeFor(event);
      if (!type) continue;
      const int64_t revision = event.object.metadata.resource_version;
      if (request_.table) {
        // Encoded on the stream's own strand, not on the store's dispatcher thread.
        auto object = std::make_shared<const api::Object>(event.object);
        queued_bytes_ += approximateBytes(*object);
        queue_.push_back({revision, *type, nullptr, std::move(object)});
      } else {
        auto line = hub_.encoded_->line(event, *type);
        queued_bytes_ += line->size();
        queue_.push_back({revision, *type, std::move(line), nullptr});
      }
      if (queue_.size() > hub_.options_.buffer_events || queued_bytes_ > hub_.options_.buffer_bytes) {
        overflowed_ = true;
        queue_.clear();
        queued_bytes_ = 0;
        break;
      }
    }
    if (queue_.empty() && !overflowed_) return;
  }
  wake();
}

void WatchStream::onEnd(const util::Error& why) {
  {
    std::lock_guard lock(mutex_);
    ended_ = why;
  }
  wake();
}

std::optional<store::EventType> WatchStream::typeFor(const store::WatchEvent& event) {
  const bool match = request_.filter.matches(event.object);
  if (!track_matches_) return match ? std::optional(event.type) : std::nullopt;
  const std::string key = event.object.metadata.namespace_ + "/" + event.object.metadata.name;
  const bool shown = matched_.count(key) > 0;
  if (event.type == store::EventType::Deleted) {
    matched_.erase(key);
    return match || shown ? std::optional(event.type) : std::nullopt;
  }
  if (match) {
    matched_.insert(key);
    return matches_exact_ && !shown ? store::EventType::Added : event.type;
  }
  if (!shown) return std::nullopt;
  matched_.erase(key);
  return store::EventType::Deleted;  // it no longer matches: gone from this stream's view
}

void WatchStream::wake() {
  if (wake_pending_.exchange(true)) return;
  std::lock_guard lock(mutex_);
  if (!executor_) return;
  asio::post(*executor_, [timer = timer_] { timer->cancel(); });
}

WatchStream::Drained WatchStream::drain() {
  Drained out;
  std::lock_guard lock(mutex_);
  out.events.swap(queue_);
  queued_bytes_ = 0;
  out.overflowed = overflowed_;
  out.ended = ended_;
  return out;
}

bool WatchStream::idle() {
  std::lock_guard lock(mutex_);
  return queue_.empty() && !overflowed_ && !ended_;
}

void WatchStream::countEvents(const std::array<size_t, 3>& by_type) {
  const auto& m = hub_.metrics_;
  if (by_type[0] > 0) m.watch_added.inc(static_cast<double>(by_type[0]));
  if (by_type[1] > 0) m.watch_modified.inc(static_cast<double>(by_type[1]));
  if (by_type[2] > 0) m.watch_deleted.inc(static_cast<double>(by_type[2]));
}

void WatchStream::appendLine(std::string& out, const char* type, const api::Object& object) {
  if (!request_.table) {
    appendEvent(out, type, object);
    return;
  }
  TableOptions options = *request_.table;
  options.now = std::chrono::system_clock::now();
  options.no_headers = table_headers_sent_;
  table_headers_sent_ = true;
  util::JsonDoc table;
  buildObjectTable(object, options, table);
  out += R"({"type":")";
  out += type;
  out += R"(","object":)";
  out += util::toJson(table);
  out += "}\n";
}

std::string WatchStream::bookmark(int64_t revision, bool initial_events_end) const {
  if (!request_.bookmarks) return {};
  if (request_.table) return tableBookmarkLine(request_.table->version, revision);
  return bookmarkLine(request_.kind, revision, initial_events_end);
}

asio::awaitable<bool> WatchStream::write(net::ChunkWriter& writer, std::string data) {
  if (data.empty()) co_return true;
  co_return co_await writer.write(std::move(data));
}

asio::awaitable<bool> WatchStream::sendInitialState(net::ChunkWriter& writer, int64_t& revision) {
  store::ListOptions options;
  options.kind = request_.kind;
  options.namespace_ = request_.namespace_;
  options.filter = [this](const api::Object& o) { return request_.filter.matches(o); };
  auto list = hub_.store_.list(options);
  if (!list.ok()) {
    co_await write(writer, errorLine(list.error()));
    co_return false;
  }
  std::string chunk;
  for (const auto& object : list->items) {
    if (track_matches_) matched_.insert(object.metadata.namespace_ + "/" + object.metadata.name);
    appendLine(chunk, "ADDED", object);
    if (chunk.size() >= kChunkBytes && !co_await write(writer, std::exchange(chunk, {}))) {
      co_return false;
    }
  }
  hub_.metrics_.watch_added.inc(static_cast<double>(list->items.size()));
  matches_exact_ = true;
  revision = list->revision;
  chunk += bookmark(revision, true);
  co_return co_await write(writer, std::move(chunk));
}

asio::awaitable<void> WatchStream::run(net::ChunkWriter& writer) {
  auto executor = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(executor);
  {
    std::lock_guard lock(mutex_);
    executor_ = executor;
    timer_ = timer;
  }
  if (stop_ || writer.stopping()) co_return;

  const auto& options = hub_.options_;
  auto timeout = request_.timeout.count() > 0 ? std::min(request_.timeout, options.max_timeout)
                                              : options.max_timeout;
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  int64_t revision = request_.resource_version.value_or(0);
  if (revision == 0) {
    if (!co_await sendInitialState(writer, revision)) co_return;
  } else if (revision > hub_.store_.currentRevision()) {
    co_await write(writer, errorLine(makeError(
                               ErrorCode::Timeout,
                               fmt::format("Too large resource version: {}, current: {}", revision,
                                           hub_.store_.currentRevision()))));
    co_return;
  }

  store::WatchOptions watch_options;
  watch_options.kind = request_.kind;
  watch_options.namespace_ = request_.namespace_;
  watch_options.after_revision = revision;
  auto weak = std::weak_ptr<WatchStream>(shared_from_this());
  auto handle = hub_.store_.watch(
      watch_options,
      [weak](std::span<const store::WatchEvent> events) {
        if (auto stream = weak.lock()) stream->onEvents(events);
      },
      [weak](const util::Error& why) {
        if (auto stream = weak.lock()) stream->onEnd(why);
      });
  if (!handle.ok()) {
    util::Error error = handle.takeError();
    if (error.code == ErrorCode::Expired) {
      error.message = fmt::format("too old resource version: {} ({})", revision,
                                  hub_.store_.compactedRevision());
    }
    co_await write(writer, errorLine(error));
    co_return;
  }

  auto next_bookmark = std::chrono::steady_clock::now() + options.bookmark_interval;
  while (!stop_ && !writer.stopping()) {
    Drained drained = drain();
    std::string chunk;
    size_t bytes = 0;
    for (const auto& event : drained.events) {
      bytes += event.line ? event.line->size() : approximateBytes(*event.object);
    }
    chunk.reserve(bytes);
    std::array<size_t, 3> counts{};
    for (const auto& event : drained.events) {
      if (event.line) {
        chunk += *event.line;
      } else {
        appendLine(chunk, typeName(event.type), *event.object);
      }
      revision = std::max(revision, event.revision);
      counts.at(static_cast<size_t>(event.type))++;
    }
    countEvents(counts);
    if (drained.overflowed) {
      hub_.metrics_.watch_overflows.with({}).inc();
      chunk += errorLine(makeError(ErrorCode::Expired,
                                   fmt::format("watch closed: the client fell more than {} events "
                                               "behind; list again and watch from its "
                                               "resourceVersion",
                                               options.buffer_events)));
      co_await write(writer, std::move(chunk));
      co_return;
    }
    if (drained.ended) {
      // The events before the end are complete, but the client cannot tell what the store still
      // owed it: as for a compacted revision, it lists again and watches from the list.
      chunk += errorLine(makeError(ErrorCode::Expired,
                                   fmt::format("{}; list again and watch from its resourceVersion",
                                               drained.ended->message)));
      co_await write(writer, std::move(chunk));
      co_return;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= next_bookmark) {
      if (request_.bookmarks) {
        chunk += bookmark(revision, false);
        hub_.metrics_.watch_bookmarks.inc();
      }
      next_bookmark = now + options.bookmark_interval;
    }
    if (!co_await write(writer, std::move(chunk))) co_return;
    if (std::chrono::steady_clock::now() >= deadline) co_return;
    // The flag is cleared only here, right before the stream checks its queue and sleeps: a
    // producer queues before it wakes, so either this check sees its events or its wake() finds
    // the flag clear and posts a cancel, which runs on this executor only once the wait below
    // has begun. (Clearing it in drain() lost wake-ups: a wake() between the drain and the wait
    // set the flag, its cancel ran while the stream was writing, and the next wake() posted
    // nothing, so the stream slept until its bookmark timer.)
    wake_pending_ = false;
    if (!idle()) continue;
    timer->expires_at(std::min(deadline, next_bookmark));
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

WatchHub::WatchHub(store::Store& store, ServerMetrics& metrics, WatchOptions options)
    : store_(store), metrics_(metrics), options_(options), encoded_(std::make_unique<EncodedEvents>()) {}

WatchHub::~WatchHub() { shutdown(); }

util::Result<net::StreamingResponse> WatchHub::open(WatchRequest request) {
  if (reserved_.fetch_add(1) >= options_.max_streams) {
    reserved_.fetch_sub(1);
    return makeError(ErrorCode::TooManyRequests,
                     fmt::format("too many open watches ({}); try again later", options_.max_streams));
  }
  {
    std::lock_guard lock(mutex_);
    auto [it, added] = per_user_.try_emplace(request.user, 0);
    if (it->second >= options_.max_streams_per_user) {
      reserved_.fetch_sub(1);
      util::Error refused = makeError(
          ErrorCode::TooManyRequests,
          fmt::format("too many open watches for user \"{}\": {} of {} allowed; close one, or "
                      "raise --max-watches-per-user",
                      request.user, it->second, options_.max_streams_per_user));
      if (added) per_user_.erase(it);
      return refused;
    }
    ++it->second;
  }
  auto stream = std::make_shared<WatchStream>(*this, std::move(request));
  add(stream);
  net::StreamingResponse reply;
  reply.head.result(http::status::ok);
  reply.head.set(http::field::content_type, kWatchType);
  reply.head.set(http::field::cache_control, "no-cache, private");
  reply.produce = [stream](net::ChunkWriter& writer) -> asio::awaitable<void> {
    return stream->run(writer);
  };
  return reply;
}

void WatchHub::add(const std::shared_ptr<WatchStream>& stream) {
  std::lock_guard lock(mutex_);
  streams_.emplace(stream.get(), stream);
  metrics_.open_watches.with({}).set(static_cast<double>(streams_.size()));
  if (stopping_) stream->stop();
}

void WatchHub::erase(WatchStream* stream, const std::string& user) {
  std::lock_guard lock(mutex_);
  if (streams_.erase(stream) > 0) {
    reserved_.fetch_sub(1);
    auto it = per_user_.find(user);
    if (it != per_user_.end() && --it->second == 0) per_user_.erase(it);
  }
  metrics_.open_watches.with({}).set(static_cast<double>(streams_.size()));
}

void WatchHub::shutdown() {
  stopping_ = true;
  std::vector<std::shared_ptr<WatchStream>> open;
  {
    std::lock_guard lock(mutex_);
    for (auto& [raw, weak] : streams_) {
      if (auto stream = weak.lock()) open.push_back(std::move(stream));
    }
  }
  for (auto& stream : open) stream->stop();
}

size_t WatchHub::openStreams() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

}  // namespace magnumd::server
