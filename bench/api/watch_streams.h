// Watch streams for store_compare_bench: many long-lived streaming responses (magnumd's
// `?watch=true`, etcd's POST /v3/watch), read on one client thread, each recording when every
// event arrived and at which revision, so a run can join them with the writes' acknowledgements.
// Both servers answer with a chunked body of newline-delimited JSON; Beast's parser strips the
// chunk framing, so a line split across chunks or reads is still seen whole.
#pragma once

#include <atomic>

#include "bench/api/bench_http.h"

namespace bench {

// How a target's stream shows an event and its revision: magnumd's lines are
// {"type":"MODIFIED","object":{..."resourceVersion":"N"...}}, one event each; etcd's are
// {"result":{...,"events":[{"kv":{...,"mod_revision":"N",...}},...]}}, one or more events each.
struct WatchFormat {
  std::string event_marker;     // once per event
  std::string revision_marker;  // once per event, followed by its revision
};

struct Delivery {
  int64_t revision;
  int64_t received_ns;
};

class WatchStreams {
 public:
  // `count` streams, each sending `request`; run on their own thread until stop().
  WatchStreams(tcp::endpoint endpoint, http::request<http::string_body> request, WatchFormat format,
               int count)
      : format_(std::move(format)), per_stream_(count) {
    for (int i = 0; i < count; ++i) {
      asio::co_spawn(io_, stream(endpoint, request, per_stream_[i]), asio::detached);
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  ~WatchStreams() { stop(); }
  WatchStreams(const WatchStreams&) = delete;
  WatchStreams& operator=(const WatchStreams&) = delete;

  // Until every stream has its response header (the server has taken the watch); false after 30 s.
  bool waitOpen() const {
    auto by = Clock::now() + std::chrono::seconds(30);
    while (open_.load() < static_cast<int>(per_stream_.size())) {
      if (Clock::now() > by) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  // Until `events` were delivered in all (or `limit` passed); when the last one arrived.
  int64_t waitDelivered(int64_t events, std::chrono::seconds limit) const {
    auto by = Clock::now() + limit;
    while (delivered_.load() < events && Clock::now() < by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return last_ns_.load();
  }
  int64_t delivered() const { return delivered_.load(); }
  int ended() const { return ended_.load(); }  // streams the server closed or that failed

  void stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }
  // After stop(): every stream's deliveries.
  const std::vector<std::vector<Delivery>>& deliveries() const { return per_stream_; }

 private:
  asio::awaitable<void> stream(tcp::endpoint endpoint, http::request<http::string_body> request,
                               std::vector<Delivery>& out) {
    beast::tcp_stream socket(co_await asio::this_coro::executor);
    beast::error_code ec;
    std::tie(ec) = co_await socket.async_connect(endpoint, asio::as_tuple(use_awaitable));
    if (ec) {
      ++ended_;
      co_return;
    }
    co_await http::async_write(socket, request, asio::as_tuple(use_awaitable));
    beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    parser.body_limit(boost::none);
    std::tie(ec, std::ignore) =
        co_await http::async_read_header(socket, buffer, parser, asio::as_tuple(use_awaitable));
    if (ec || parser.get().result_int() != 200) {
      ++ended_;
      co_return;
    }
    ++open_;
    std::string pending;
    auto on_body = [&](uint64_t, beast::string_view data, beast::error_code&) {
      const int64_t now = nowNs();
      pending.append(data.data(), data.size());
      size_t begin = 0, end;
      while ((end = pending.find('\n', begin)) != std::string::npos) {
        std::string_view line(pending.data() + begin, end - begin);
        if (line.find(format_.event_marker) != std::string_view::npos) onLine(line, now, out);
        begin = end + 1;
      }
      pending.erase(0, begin);
      return data.size();
    };
    parser.on_chunk_body(on_body);
    std::tie(ec, std::ignore) =
        co_await http::async_read(socket, buffer, parser, asio::as_tuple(use_awaitable));
    ++ended_;
  }

  void onLine(std::string_view line, int64_t now, std::vector<Delivery>& out) {
    for (size_t at = 0; (at = line.find(format_.revision_marker, at)) != std::string_view::npos;) {
      at += format_.revision_marker.size();
      out.push_back({std::atoll(line.data() + at), now});
      ++delivered_;
    }
    last_ns_.store(now);
  }

  asio::io_context io_;
  WatchFormat format_;
  std::vector<std::vector<Delivery>> per_stream_;
  std::atomic<int> open_{0}, ended_{0};
  std::atomic<int64_t> delivered_{0}, last_ns_{0};
  std::thread thread_;
};

}  // namespace bench
