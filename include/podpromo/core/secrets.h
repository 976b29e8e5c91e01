// Passwords, tokens and digests (libsodium). Thread-safe; no state besides libsodium's, initialised on first use.
//
// Passwords are hashed with Argon2id (crypto_pwhash_str_alg) at libsodium's "interactive" cost: 2 passes over
// 64 MiB, about 0.1 s on one core. The encoded hash carries its parameters, so raising them later still verifies
// old hashes. Tokens (API keys, sessions, sign-in links) are random bytes, stored only as their SHA-256.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "podpromo/core/status.h"

namespace podpromo {

// The Argon2id hash of `password`, encoded ("$argon2id$v=19$m=65536,t=2,p=1$..."). ResourceExhausted when the
// memory it needs cannot be had; Internal when libsodium cannot start.
Result<std::string> HashPassword(std::string_view password);
// True when `password` matches `encoded` (a HashPassword result); false for a wrong password or a malformed hash.
bool VerifyPassword(std::string_view encoded, std::string_view password);

// `bytes` random bytes as lower-case letters and digits (base32, 8 characters for every 5 bytes): fit for URLs,
// headers and cookies, with no character that needs escaping.
std::string RandomToken(size_t bytes);
// The SHA-256 of `data`, in lower-case hex.
std::string Sha256Hex(std::string_view data);
// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The Standard Webhooks signature of one call: "v1," and the base64 of the HMAC-SHA256, keyed with `secret`, of
// "<id>.<timestamp>.<body>". A secret of the standard's form ("whsec_" and base64) is keyed with its decoded bytes;
// any other string with its own bytes.
std::string WebhookSignature(std::string_view secret, std::string_view id, int64_t timestamp_s, std::string_view body);

}  // namespace podpromo
