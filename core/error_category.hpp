#pragma once
// One std::error_category per error enum, defined in a few lines:
//
//   enum class gzip_errc { too_large = 1, corrupt };
//   std::string_view to_string(gzip_errc e) noexcept;          // the stable names
//   const std::error_category& gzip_category() noexcept {
//       static const enum_category<gzip_errc> c{"gzip"};
//       return c;
//   }
//   std::error_code make_error_code(gzip_errc e) noexcept { return {static_cast<int>(e), gzip_category()}; }
//
// and `template <> struct std::is_error_code_enum<gzip_errc> : std::true_type {};` so codes compare
// with `ec == gzip_errc::too_large`. message() is to_string() of the enum (found by ADL); the
// value 0 means success in every category, so enums start at 1.

#include <string>
#include <string_view>
#include <system_error>

namespace tributary {

template <class Enum>
class enum_category final : public std::error_category {
public:
    /// `name` must outlive the category (a string literal).
    explicit constexpr enum_category(const char* name) noexcept : name_(name) {}

    const char* name() const noexcept override { return name_; }
    std::string message(int value) const override {
        if (value == 0) return "success";
        return std::string(to_string(static_cast<Enum>(value)));
    }

private:
    const char* name_;
};

}  // namespace tributary
