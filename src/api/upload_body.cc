#include "upload_body.h"

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

}  // namespace podpromo::http
