#include "podpromo/media/pcm_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "podpromo/files/atomic.h"

namespace podpromo {

size_t MemoryPcmSource::Read(size_t start, size_t n, int16_t* out) const {
    if (start >= pcm_.samples.size()) return 0;
    n = std::min(n, pcm_.samples.size() - start);
    std::memcpy(out, pcm_.samples.data() + start, n * sizeof(int16_t));
    return n;
}

Result<std::unique_ptr<SpilledPcm>> SpilledPcm::Create(const Pcm& pcm) {
    const char* tmp = std::getenv("TMPDIR");
    std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/podpromo-pcm-XXXXXX";
    std::vector<char> name(path.begin(), path.end());
    name.push_back('\0');
    const int fd = mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return StatusFromErrno(errno, "cannot create a temporary audio file");
    unlink(name.data());  // anonymous from now on: freed when closed, whatever happens
    const char* data = reinterpret_cast<const char*>(pcm.samples.data());
    size_t left = pcm.samples.size() * sizeof(int16_t);
    while (left > 0) {
        const ssize_t w = write(fd, data, std::min<size_t>(left, 1 << 20));
        if (w < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            close(fd);
            return StatusFromErrno(e, "cannot write a temporary audio file");
        }
        data += w;
        left -= static_cast<size_t>(w);
    }
    return std::unique_ptr<SpilledPcm>(new SpilledPcm(fd, pcm.samples.size(), pcm.sample_rate));
}

SpilledPcm::~SpilledPcm() { close(fd_); }

size_t SpilledPcm::Read(size_t start, size_t n, int16_t* out) const {
    if (start >= size_) return 0;
    n = std::min(n, size_ - start);
    size_t done = 0;
    while (done < n) {
        const ssize_t r = pread(fd_, reinterpret_cast<char*>(out + done), (n - done) * sizeof(int16_t),
                                static_cast<off_t>((start + done) * sizeof(int16_t)));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        done += static_cast<size_t>(r) / sizeof(int16_t);
    }
    return done;
}

}  // namespace podpromo
