#include "audit/amqp_sink.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <sys/time.h>

#include <vector>

#include "util/time.h"

namespace magnumd::audit {

using util::ErrorCode;
using util::makeError;

namespace {

constexpr amqp_channel_t kChannel = 1;

amqp_connection_state_t state(void* connection) {
  return static_cast<amqp_connection_state_t>(connection);
}

amqp_bytes_t bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string text(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

timeval toTimeval(std::chrono::milliseconds d) {
  if (d.count() < 0) d = std::chrono::milliseconds(0);
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>(d.count() % 1000 * 1000)};
}

// What went wrong in a broker round trip, in the broker's words when it refused.
std::string describe(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return fmt::format("broker closed the connection: {} {}", m->reply_code,
                           text(m->reply_text));
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return fmt::format("broker closed the channel: {} {}", m->reply_code, text(m->reply_text));
      }
      return fmt::format("broker answered with method {:#x}", reply.reply.id);
  }
  return "unknown reply";
}

}  // namespace

std::string redactAmqpUrl(std::string_view url) {
  auto scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  auto at = url.find('@', start);
  if (at == std::string_view::npos) return std::string(url);
  auto colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return fmt::format("{}***{}", url.substr(0, colon + 1), url.substr(at));
}

util::Result<std::unique_ptr<AmqpSink>> AmqpSink::create(AmqpOptions options) {
  std::string url = options.url;
  // oslo.messaging's transport_url spelling, so an operator can paste Magnum's setting.
  if (url.rfind("rabbit://", 0) == 0) url = "amqp://" + url.substr(9);
  if (url.rfind("amqp://", 0) != 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: only amqp:// (or rabbit://) URLs are supported, such as "
                                 "amqp://user:password@127.0.0.1:5672/",
                                 redactAmqpUrl(options.url)));
  }
  std::vector<char> buffer(url.begin(), url.end());
  buffer.push_back('\0');
  amqp_connection_info info{};
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    return makeError(ErrorCode::BadRequest, fmt::format("{}: not an AMQP URL; the form is "
                                                        "amqp://user:password@host:port/vhost",
                                                        redactAmqpUrl(options.url)));
  }
  Target target{info.user, info.password, info.host, info.vhost, info.port};
  // "amqp://host:5672/" names the default virtual host, as oslo.messaging reads it.
  if (target.vhost.empty()) target.vhost = "/";
  if (options.exchange.empty()) {
    return makeError(ErrorCode::BadRequest, "the exchange name must not be empty");
  }
  return std::unique_ptr<AmqpSink>(new AmqpSink(std::move(options), std::move(target)));
}

AmqpSink::AmqpSink(AmqpOptions options, Target target)
    : options_(std::move(options)), target_(std::move(target)) {
  where_ = fmt::format("amqp://{}@{}:{}/{}", target_.user, target_.host, target_.port,
                       target_.vhost == "/" ? "" : target_.vhost);
}

AmqpSink::~AmqpSink() { close(); }

util::Error AmqpSink::fail(std::string_view what) {
  close();
  return makeError(ErrorCode::Unavailable, fmt::format("{}: {}", where_, what));
}

void AmqpSink::close() {
  if (connection_ == nullptr) return;
  auto conn = state(connection_);
  connection_ = nullptr;
  // Polite when the broker is there; bounded by the RPC timeout when it is not.
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
  declared_.clear();
}

util::Status AmqpSink::connect() {
  auto conn = amqp_new_connection();
  connection_ = conn;
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (socket == nullptr) return fail("cannot create a socket");
  timeval tv = toTimeval(options_.timeout);
  int rc = amqp_socket_open_noblock(socket, target_.host.c_str(), target_.port, &tv);
  if (rc != AMQP_STATUS_OK) {
    // Not connected: there is no connection to close, only the state to free.
    connection_ = nullptr;
    amqp_destroy_connection(conn);
    return makeError(ErrorCode::Unavailable,
                     fmt::format("{}: cannot connect: {}", where_, amqp_error_string2(rc)));
  }
  amqp_set_handshake_timeout(conn, &tv);
  amqp_set_rpc_timeout(conn, &tv);
  auto login = amqp_login(conn, target_.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, 0,
                          AMQP_SASL_METHOD_PLAIN, target_.user.c_str(), target_.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail(fmt::format("login as {} failed: {}", target_.user, describe(login)));
  }
  amqp_channel_open(conn, kChannel);
  if (auto r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail("cannot open a channel: " + describe(r));
  }
  amqp_exchange_declare(conn, kChannel, bytes(options_.exchange), bytes("topic"), 0, 0, 0, 0,
                        amqp_empty_table);
  if (auto r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail(
        fmt::format("cannot declare the topic exchange {}: {}", options_.exchange, describe(r)));
  }
  amqp_confirm_select(conn, kChannel);
  if (auto r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail("the broker refused publisher confirms: " + describe(r));
  }
  next_tag_ = 1;
  declared_.clear();
  return {};
}

util::Status AmqpSink::declareQueue(const std::string& routing_key) {
  if (declared_.count(routing_key)) return {};
  auto conn = state(connection_);
  amqp_queue_declare(conn, kChannel, bytes(routing_key), 0, 0, 0, 0, amqp_empty_table);
  if (auto r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail(fmt::format("cannot declare the queue {}: {}", routing_key, describe(r)));
  }
  amqp_queue_bind(conn, kChannel, bytes(routing_key), bytes(options_.exchange), bytes(routing_key),
                  amqp_empty_table);
  if (auto r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return fail(fmt::format("cannot bind the queue {} to {}: {}", routing_key, options_.exchange,
                            describe(r)));
  }
  declared_.insert(routing_key);
  return {};
}

util::Status AmqpSink::waitForConfirm() {
  auto conn = state(connection_);
  const uint64_t tag = next_tag_++;
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    timeval tv = toTimeval(left);
    amqp_frame_t frame{};
    amqp_maybe_release_buffers(conn);
    int rc = amqp_simple_wait_frame_noblock(conn, &frame, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) {
      return fail(fmt::format("no confirm from the broker within {} ms", options_.timeout.count()));
    }
    if (rc != AMQP_STATUS_OK) return fail(amqp_error_string2(rc));
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (ack->delivery_tag == tag || (ack->multiple && ack->delivery_tag >= tag)) return {};
        continue;  // an earlier publish's confirm
      }
      case AMQP_BASIC_NACK_METHOD:
        return fail("the broker refused the notification (basic.nack)");
      case AMQP_CHANNEL_CLOSE_METHOD: {
        const auto* m = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
        return fail(
            fmt::format("broker closed the channel: {} {}", m->reply_code, text(m->reply_text)));
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        const auto* m = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
        return fail(
            fmt::format("broker closed the connection: {} {}", m->reply_code, text(m->reply_text)));
      }
      default:
        continue;
    }
  }
}

util::Status AmqpSink::send(const Notification& notification) {
  if (connection_ == nullptr) RETURN_IF_ERROR(connect());
  std::string priority = notification.priority;
  for (char& c : priority) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string routing_key = options_.topic + "." + priority;
  RETURN_IF_ERROR(declareQueue(routing_key));
  // oslo.messaging's _unique_id: uuid4().hex.
  std::string unique_id = util::newUuid();
  std::erase(unique_id, '-');
  std::string body = osloEnvelope(notification.body, unique_id);
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG |
                 AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.content_encoding = amqp_cstring_bytes("utf-8");
  props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  int rc = amqp_basic_publish(state(connection_), kChannel, bytes(options_.exchange),
                              bytes(routing_key), 0, 0, &props, bytes(body));
  if (rc != AMQP_STATUS_OK) return fail(fmt::format("publish failed: {}", amqp_error_string2(rc)));
  return waitForConfirm();
}

}  // namespace magnumd::audit
