#pragma once
// Sample decoders for the WFDB signal formats (signal(5)). Internal to the io layer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ecgtwin::io::detail {

bool is_supported_format(int format);
// The value a format uses for an invalid sample (kInvalidSample when it has none).
std::int32_t invalid_value(int format);
// Bytes needed to hold `samples` samples, and samples held whole by `bytes` bytes.
std::int64_t bytes_for_samples(int format, std::int64_t samples);
std::int64_t samples_in_bytes(int format, std::int64_t bytes);

// Decodes the first `count` samples of an interleaved stream. For format 8 (first
// differences) `initial` holds the initial value of each position within a frame and
// `position_signal` maps a stream position modulo the frame size to that slot.
void decode_samples(int format, const std::uint8_t* data, std::int64_t count, std::int32_t* out,
                    const std::vector<int>& frame_slot, const std::vector<std::int32_t>& initial);

// Encodes samples (format 16 or 212, 80, 24, 32) into bytes.
std::string encode_samples(int format, const std::int32_t* samples, std::int64_t count);

}  // namespace ecgtwin::io::detail
