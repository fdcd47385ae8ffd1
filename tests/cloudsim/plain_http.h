// One plain HTTP/1.1 exchange with a simulator on 127.0.0.1, for the cloudsim tests that run it on
// a real socket.
#pragma once

#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <string>

namespace magnumd::cloudsim::testing {

struct PlainReply {
  int status = 0;
  std::string body;
  std::string token;  // X-Subject-Token
};

PlainReply plainRequest(uint16_t port, boost::beast::http::verb verb, const std::string& target,
                        const std::string& body = "", const std::string& token = "");

}  // namespace magnumd::cloudsim::testing
