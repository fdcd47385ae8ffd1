// HttpClient for a program without an event loop of its own (magnumctl): each call runs one
// request to completion on a private io_context, with the same pool, TLS verification, deadlines
// and limits as the daemon's requests. Not thread-safe: one call at a time.
#pragma once

#include <memory>

#include "drivers/http/http_client.h"
#include "util/result.h"

namespace magnumd::drivers::http {

class BlockingHttpClient {
 public:
  // Fails as HttpClient::create() does (an unusable TLS configuration).
  static util::Result<std::unique_ptr<BlockingHttpClient>> create(HttpClientOptions options);
  ~BlockingHttpClient();
  BlockingHttpClient(const BlockingHttpClient&) = delete;
  BlockingHttpClient& operator=(const BlockingHttpClient&) = delete;

  // HttpClient::send() and HttpClient::stream(), waited for.
  util::Result<HttpResponse> send(HttpRequest request);
  util::Result<HttpResponse> stream(HttpRequest request, LineHandler on_line,
                                    StreamOptions options = {});

  HttpClientStats stats() const;

  struct Impl;

 private:
  explicit BlockingHttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace magnumd::drivers::http
