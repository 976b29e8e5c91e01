// Read access to 16 kHz mono s16 samples, held in memory or spilled to a temporary file so that long episodes
// do not keep hundreds of megabytes resident while the recogniser runs.
#pragma once

#include <cstdint>
#include <memory>

#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

// Read is thread-safe for every implementation.
class PcmSource {
  public:
    virtual ~PcmSource() = default;
    virtual size_t size() const = 0;  // samples
    virtual int sample_rate() const = 0;
    // Copies samples [start, start + n), clamped to the end, into `out`; returns how many were copied.
    virtual size_t Read(size_t start, size_t n, int16_t* out) const = 0;
};

// A view of a Pcm that must outlive it.
class MemoryPcmSource final : public PcmSource {
  public:
    explicit MemoryPcmSource(const Pcm& pcm) : pcm_(pcm) {}
    size_t size() const override { return pcm_.samples.size(); }
    int sample_rate() const override { return pcm_.sample_rate; }
    size_t Read(size_t start, size_t n, int16_t* out) const override;

  private:
    const Pcm& pcm_;
};

// The samples in an anonymous temporary file (created in $TMPDIR and unlinked at once, so nothing is left
// behind even if the process dies). Errors: NoSpace/IoError when the file cannot be written.
class SpilledPcm final : public PcmSource {
  public:
    static Result<std::unique_ptr<SpilledPcm>> Create(const Pcm& pcm);
    ~SpilledPcm() override;
    SpilledPcm(const SpilledPcm&) = delete;
    SpilledPcm& operator=(const SpilledPcm&) = delete;
    size_t size() const override { return size_; }
    int sample_rate() const override { return rate_; }
    size_t Read(size_t start, size_t n, int16_t* out) const override;

  private:
    SpilledPcm(int fd, size_t size, int rate) : fd_(fd), size_(size), rate_(rate) {}
    int fd_;
    size_t size_;
    int rate_;
};

}  // namespace podpromo
