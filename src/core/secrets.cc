#include "podpromo/core/secrets.h"

#include <sodium.h>

#include <cstring>

namespace podpromo {

namespace {

bool SodiumReady() {
    static const bool ready = sodium_init() >= 0;
    return ready;
}

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
    if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return Status::ResourceExhausted("not enough memory to hash the password");
    }
    return std::string(out);
}

bool VerifyPassword(std::string_view encoded, std::string_view password) {
    if (!SodiumReady() || encoded.empty() || encoded.size() >= crypto_pwhash_STRBYTES) return false;
    const std::string hash(encoded);  // NUL-terminated, as libsodium reads it
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string RandomToken(size_t bytes) {
    static const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
    std::string raw(bytes, '\0');
    if (SodiumReady()) randombytes_buf(raw.data(), raw.size());
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (unsigned char c : raw) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 5) {
            out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
            bits -= 5;
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
    return out;
}

std::string Sha256Hex(std::string_view data) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 15]);
    }
    return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && (a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0);
}

std::string WebhookSignature(std::string_view secret, std::string_view id, int64_t timestamp_s, std::string_view body) {
    (void)SodiumReady();
    std::string key(secret);
    if (secret.rfind("whsec_", 0) == 0) {
        const std::string_view encoded = secret.substr(6);
        std::string decoded(encoded.size(), '\0');
        size_t length = 0;
        if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(), encoded.data(),
                              encoded.size(), nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0) {
            key = decoded.substr(0, length);
        }
    }
    const std::string message = std::string(id) + "." + std::to_string(timestamp_s) + "." + std::string(body);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    crypto_auth_hmacsha256_final(&state, mac);
    std::string b64(sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(b64.data(), b64.size(), mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    b64.resize(std::strlen(b64.c_str()));
    return "v1," + b64;
}

}  // namespace podpromo
