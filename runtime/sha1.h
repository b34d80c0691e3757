// SHA-1, only because iproute2 names an object's PIN_OBJECT_NS directory by the hex SHA-1 of the
// object file (tc/<sha1>/MAP): tcbpf must compute the same name to share those pins.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace tcbpf::runtime {

std::string sha1_hex(std::span<const uint8_t> data);  // 40 lowercase hex digits

}  // namespace tcbpf::runtime
