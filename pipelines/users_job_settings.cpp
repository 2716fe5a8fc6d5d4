#include "pipelines/users_job_settings.hpp"

namespace tributary::pipelines {

std::string_view to_string(write_mode m) noexcept {
    switch (m) {
        case write_mode::upsert:
            return "upsert";
        case write_mode::create:
            return "create";
        case write_mode::update:
            return "update";
    }
    return "upsert";
}

}  // namespace tributary::pipelines
