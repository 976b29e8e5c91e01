#include "upload_body.h"

#include <fmt/format.h>

#include <algorithm>

#include "http_common.h"

namespace podpromo::http {

namespace {

bool IsStreamed(const std::string& name) { return name == "file" || name == "cover"; }

}  // namespace

UploadBody ReadUploadBody(const httplib::Request& req, const httplib::ContentReader& reader, const UploadSinks& sinks) {
    UploadBody body;
    if (!req.is_multipart_form_data()) {
        body.got_file = true;
        body.read_whole = reader(sinks.file);
        return body;
    }
    std::string current;  // the part being read
    std::string value;    // its value, when it is a field
    int parts = 0;
    bool cover_open = false;
    auto keep_field = [&] {
        if (!current.empty() && !IsStreamed(current)) body.fields[current] = value;
    };
    body.read_whole = reader(
        [&](const httplib::MultipartFormData& part) {
            if (++parts > UploadBody::kMaxParts) return false;
            keep_field();
            current = part.name;
            value.clear();
            if (part.name == "file") {
                body.got_file = true;
                if (body.filename.empty()) body.filename = part.filename;
            }
            if (part.name == "cover" && !cover_open) {
                cover_open = true;
                return sinks.open_cover();
            }
            return true;
        },
        [&](const char* data, size_t len) {
            if (current == "file") return sinks.file(data, len);
            if (current == "cover") return sinks.cover(data, len);
            if (value.size() + len > UploadBody::kMaxFieldBytes) return false;
            value.append(data, len);
            return true;
        });
    keep_field();
    return body;
}

UploadReceiver::UploadReceiver(const Storage& storage, int64_t max_file_bytes, Storage::Reservation reservation)
    : storage_(storage), max_file_bytes_(max_file_bytes), reservation_(std::move(reservation)) {}

bool UploadReceiver::OnFile(const char* data, size_t len) {
    const auto n = static_cast<int64_t>(len);
    if (too_large_ || file_->size_bytes() + n > max_file_bytes_) {
        too_large_ = true;  // stop storing; keep reading (and dropping) a while so the client hears why
        dropped_ += n;
        return dropped_ <= kDrainBytes;
    }
    const int64_t after = file_->size_bytes() + n;
    if (after > reservation_.bytes()) {
        room_status_ = reservation_.Grow(std::max(kReserveStep, after - reservation_.bytes()));
        if (!room_status_.ok()) return false;
    }
    file_status_ = file_->Write(data, len);
    return file_status_.ok();
}

bool UploadReceiver::OnOpenCover() {
    auto c = UploadFile::Create(storage_.tmp_dir(), storage_.fs());
    if (!c.ok()) {
        cover_status_ = c.status();
        return false;
    }
    cover_ = std::move(*c);
    return true;
}

bool UploadReceiver::OnCover(const char* data, size_t len) {
    if (cover_->size_bytes() + static_cast<int64_t>(len) > kMaxCoverBytes) {
        cover_too_large_ = true;
        return false;
    }
    cover_status_ = cover_->Write(data, len);
    return cover_status_.ok();
}

Status UploadReceiver::Receive(const httplib::Request& req, const httplib::ContentReader& reader) {
    auto file = UploadFile::Create(storage_.tmp_dir(), storage_.fs());
    if (!file.ok()) return file.status();
    file_ = std::move(*file);
    UploadSinks sinks;
    sinks.file = [this](const char* data, size_t len) { return OnFile(data, len); };
    sinks.open_cover = [this] { return OnOpenCover(); };
    sinks.cover = [this](const char* data, size_t len) { return OnCover(data, len); };
    body_ = ReadUploadBody(req, reader, sinks);
    return Outcome(body_);
}

Status UploadReceiver::Outcome(const UploadBody& body) {
    if (too_large_) {
        close_ = dropped_ > kDrainBytes;
        return Status::TooLarge(fmt::format("the upload is larger than {} bytes", max_file_bytes_));
    }
    if (cover_too_large_)
        return Status::TooLarge(fmt::format("the cover image is larger than {} bytes", kMaxCoverBytes));
    if (!cover_status_.ok()) return cover_status_;
    if (!room_status_.ok()) {
        close_ = true;
        return room_status_;
    }
    if (!file_status_.ok()) {
        if (file_status_.code() != StatusCode::kNoSpace) return file_status_;
        storage_.NoteNoSpace();
        return Status::NoSpace("the disk is full");
    }
    if (!body.read_whole) return Status::InvalidInput("the upload was interrupted or malformed").WithSlug("bad_upload");
    if (!body.got_file || file_->size_bytes() == 0) {
        return Status::InvalidInput("send the episode as multipart field 'file' or as the raw body")
            .WithSlug("no_file");
    }
    return Status::Ok();
}

UploadRequest UploadReceiver::TakeRequest(const httplib::Request& req) {
    UploadRequest r;
    r.file = std::move(file_);
    r.cover = std::move(cover_);
    r.fields = std::move(body_.fields);
    for (const char* k : {"genre", "platform", "title", "show", "terms", "priority", "clips", "aspect", "style", "font",
                          "color", "highlight", "size"}) {
        if (req.has_param(k) && !r.fields.count(k)) r.fields[k] = req.get_param_value(k);
    }
    r.filename = req.get_header_value("X-Filename");
    if (r.filename.empty()) r.filename = body_.filename;
    return r;
}

}  // namespace podpromo::http
