#include "connectors/dummy/generator.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <stdexcept>

#include "connectors/sdk/default_schemas.hpp"

namespace tributary::connectors::dummy {

namespace json = boost::json;

namespace {

// Positions, not records, are what the pager walks: every version of every user has a slot, and
// a slot is "live" when it holds the latest version of its user. Everything about a slot (its
// user, time, shuffle, lateness) is a closed-form function of its position, so a page costs
// O(page_size) whatever the dataset size, and a cursor is just a position.

constexpr std::int64_t micros_per_second = 1'000'000;
/// 2025-01-01T00:00:00Z: the time of the first run-0 slot.
constexpr std::int64_t base_time = 1'735'689'600LL * micros_per_second;
/// Each run's updates start this long after the previous region could end.
constexpr std::int64_t run_gap_seconds = 86'400;
/// Run k updates the users with index % update_period == (k - 1) % update_period.
constexpr std::uint64_t update_period = 10;
constexpr std::uint64_t late_one_in = 50;
constexpr std::uint64_t duplicate_one_in = 5;

// Salts keep the hash streams of different decisions independent.
enum salt : std::uint64_t {
    salt_static = 0x51a71c,
    salt_version = 0x7e451,
    salt_shuffle = 0x5b0ff1e,
    salt_jitter = 0x717e4,
    salt_late = 0x1a7e,
    salt_duplicate = 0xd0b1e,
};

constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

constexpr std::uint64_t hash(std::uint64_t seed,
                             std::uint64_t salt,
                             std::uint64_t a,
                             std::uint64_t b = 0) noexcept {
    return mix(mix(mix(seed ^ (salt * 0x9e3779b97f4a7c15ULL)) + a) ^ (b * 0xc2b2ae3d27d4eb4fULL));
}

/// splitmix64: fast, and good enough that tables look uniformly used.
struct rng {
    std::uint64_t state;

    std::uint64_t next() noexcept {
        state += 0x9e3779b97f4a7c15ULL;
        return mix(state);
    }
    /// Uniform in [0, n) (Lemire's multiply-shift; the bias is far below anything visible).
    std::uint32_t below(std::uint32_t n) noexcept {
        return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
    }
    bool percent(std::uint32_t p) noexcept { return below(100) < p; }
    template <class T, std::size_t N>
    const T& pick(const std::array<T, N>& table) noexcept {
        return table[below(static_cast<std::uint32_t>(N))];
    }
};

/// A bijection of [0, len) keyed by `key`: a few invertible rounds on the smallest power of two
/// that holds len, cycle-walked back into range (expected < 2 walks since 2^bits < 2 len).
std::uint64_t permute(std::uint64_t s, std::uint64_t len, std::uint64_t key) noexcept {
    if (len <= 1) return s;
    const int bits = std::bit_width(len - 1);
    const std::uint64_t mask = (bits >= 64) ? ~0ULL : ((1ULL << bits) - 1);
    const int shift = (bits + 1) / 2;
    std::uint64_t x = s;
    do {
        for (int round = 0; round < 3; ++round) {
            x = (x + (key >> (round * 16))) & mask;
            x ^= x >> shift;
            x = (x * ((key >> (round * 8)) | 1)) & mask;
        }
    } while (x >= len);
    return x;
}

struct name {
    std::string_view display;
    std::string_view email;  // ASCII, lower case
};

constexpr std::array first_names{
    name{"James", "james"},       name{"Mary", "mary"},
    name{"Robert", "robert"},     name{"Patricia", "patricia"},
    name{"John", "john"},         name{"Jennifer", "jennifer"},
    name{"Michael", "michael"},   name{"Linda", "linda"},
    name{"David", "david"},       name{"Elizabeth", "elizabeth"},
    name{"William", "william"},   name{"Barbara", "barbara"},
    name{"Richard", "richard"},   name{"Susan", "susan"},
    name{"Joseph", "joseph"},     name{"Jessica", "jessica"},
    name{"Thomas", "thomas"},     name{"Sarah", "sarah"},
    name{"Charles", "charles"},   name{"Karen", "karen"},
    name{"Daniel", "daniel"},     name{"Lisa", "lisa"},
    name{"Matthew", "matthew"},   name{"Nancy", "nancy"},
    name{"José", "jose"},         name{"María", "maria"},
    name{"Zoë", "zoe"},           name{"Søren", "soren"},
    name{"Łukasz", "lukasz"},     name{"Chloé", "chloe"},
    name{"Björn", "bjorn"},       name{"Renée", "renee"},
    name{"François", "francois"}, name{"Jürgen", "jurgen"},
    name{"Hiroshi", "hiroshi"},   name{"Yuki", "yuki"},
    name{"Aarav", "aarav"},       name{"Priya", "priya"},
    name{"Wei", "wei"},           name{"Mei", "mei"},
    name{"Olga", "olga"},         name{"Ivan", "ivan"},
    name{"Fatima", "fatima"},     name{"Omar", "omar"},
    name{"Amara", "amara"},       name{"Kwame", "kwame"},
    name{"Lucía", "lucia"},       name{"Mateo", "mateo"},
    name{"Emma", "emma"},         name{"Noah", "noah"},
    name{"Olivia", "olivia"},     name{"Liam", "liam"},
    name{"Ava", "ava"},           name{"Ethan", "ethan"},
    name{"Sofia", "sofia"},       name{"Lucas", "lucas"},
};

constexpr std::array last_names{
    name{"Smith", "smith"},       name{"Johnson", "johnson"},     name{"Williams", "williams"},
    name{"Brown", "brown"},       name{"Jones", "jones"},         name{"Garcia", "garcia"},
    name{"Miller", "miller"},     name{"Davis", "davis"},         name{"Rodriguez", "rodriguez"},
    name{"Martinez", "martinez"}, name{"Hernandez", "hernandez"}, name{"Lopez", "lopez"},
    name{"Wilson", "wilson"},     name{"Anderson", "anderson"},   name{"Taylor", "taylor"},
    name{"Moore", "moore"},       name{"Jackson", "jackson"},     name{"Martin", "martin"},
    name{"Lee", "lee"},           name{"Perez", "perez"},         name{"Thompson", "thompson"},
    name{"White", "white"},       name{"Harris", "harris"},       name{"Müller", "muller"},
    name{"Schmidt", "schmidt"},   name{"Schneider", "schneider"}, name{"Fischer", "fischer"},
    name{"Weber", "weber"},       name{"Rossi", "rossi"},         name{"Russo", "russo"},
    name{"Ferrari", "ferrari"},   name{"Esposito", "esposito"},   name{"Dubois", "dubois"},
    name{"Lefèvre", "lefevre"},   name{"Moreau", "moreau"},       name{"Núñez", "nunez"},
    name{"Sánchez", "sanchez"},   name{"Kowalski", "kowalski"},   name{"Nowak", "nowak"},
    name{"Novák", "novak"},       name{"Andersson", "andersson"}, name{"Johansson", "johansson"},
    name{"Nielsen", "nielsen"},   name{"Jensen", "jensen"},       name{"Sato", "sato"},
    name{"Suzuki", "suzuki"},     name{"Takahashi", "takahashi"}, name{"Tanaka", "tanaka"},
    name{"Kim", "kim"},           name{"Park", "park"},           name{"Chen", "chen"},
    name{"Wang", "wang"},         name{"Singh", "singh"},         name{"Patel", "patel"},
    name{"Kumar", "kumar"},       name{"O'Brien", "obrien"},      name{"Murphy", "murphy"},
    name{"Kelly", "kelly"},       name{"Okafor", "okafor"},       name{"Mensah", "mensah"},
};

// Reserved domains only (RFC 2606): generated addresses can never reach anyone.
constexpr std::array<std::string_view, 5> email_domains{
    "example.com", "example.net", "example.org", "mail.example.com", "users.example.org",
};

struct city {
    std::string_view name;
    std::string_view region;
    std::string_view country;  // ISO 3166-1 alpha-2
    std::string_view postal;   // pattern: '#' a digit, '@' an upper-case letter, else itself
    double lat;
    double lon;
    std::string_view locale;
    std::string_view calling_code;
};

constexpr std::array cities{
    city{"San Francisco", "California", "US", "941##", 37.7749, -122.4194, "en-US", "1"},
    city{"New York", "New York", "US", "100##", 40.7128, -74.0060, "en-US", "1"},
    city{"Austin", "Texas", "US", "787##", 30.2672, -97.7431, "en-US", "1"},
    city{"Chicago", "Illinois", "US", "606##", 41.8781, -87.6298, "en-US", "1"},
    city{"Seattle", "Washington", "US", "981##", 47.6062, -122.3321, "en-US", "1"},
    city{"Toronto", "Ontario", "CA", "M5V #@#", 43.6532, -79.3832, "en-CA", "1"},
    city{"Montréal", "Québec", "CA", "H2X #@#", 45.5017, -73.5673, "fr-CA", "1"},
    city{"London", "England", "GB", "SW1A #@@", 51.5074, -0.1278, "en-GB", "44"},
    city{"Manchester", "England", "GB", "M1 #@@", 53.4808, -2.2426, "en-GB", "44"},
    city{"Dublin", "Leinster", "IE", "D02 @###", 53.3498, -6.2603, "en-IE", "353"},
    city{"Berlin", "Berlin", "DE", "101##", 52.5200, 13.4050, "de-DE", "49"},
    city{"München", "Bayern", "DE", "803##", 48.1351, 11.5820, "de-DE", "49"},
    city{"Paris", "Île-de-France", "FR", "750##", 48.8566, 2.3522, "fr-FR", "33"},
    city{"Lyon", "Auvergne-Rhône-Alpes", "FR", "6900#", 45.7640, 4.8357, "fr-FR", "33"},
    city{"Milano", "Lombardia", "IT", "201##", 45.4642, 9.1900, "it-IT", "39"},
    city{"Roma", "Lazio", "IT", "001##", 41.9028, 12.4964, "it-IT", "39"},
    city{"Madrid", "Comunidad de Madrid", "ES", "280##", 40.4168, -3.7038, "es-ES", "34"},
    city{"Barcelona", "Catalunya", "ES", "080##", 41.3874, 2.1686, "es-ES", "34"},
    city{"Amsterdam", "Noord-Holland", "NL", "10## @@", 52.3676, 4.9041, "nl-NL", "31"},
    city{"Stockholm", "Stockholms län", "SE", "111 ##", 59.3293, 18.0686, "sv-SE", "46"},
    city{"København", "Hovedstaden", "DK", "1###", 55.6761, 12.5683, "da-DK", "45"},
    city{"Warszawa", "Mazowieckie", "PL", "00-###", 52.2297, 21.0122, "pl-PL", "48"},
    city{"São Paulo", "São Paulo", "BR", "01###-###", -23.5505, -46.6333, "pt-BR", "55"},
    city{"Ciudad de México", "CDMX", "MX", "06###", 19.4326, -99.1332, "es-MX", "52"},
    city{"Buenos Aires", "CABA", "AR", "C1###@@@", -34.6037, -58.3816, "es-AR", "54"},
    city{"Tokyo", "Tokyo", "JP", "100-####", 35.6762, 139.6503, "ja-JP", "81"},
    city{"Osaka", "Osaka", "JP", "530-####", 34.6937, 135.5023, "ja-JP", "81"},
    city{"Seoul", "Seoul", "KR", "0####", 37.5665, 126.9780, "ko-KR", "82"},
    city{"Bengaluru", "Karnataka", "IN", "560###", 12.9716, 77.5946, "en-IN", "91"},
    city{"Mumbai", "Maharashtra", "IN", "400###", 19.0760, 72.8777, "en-IN", "91"},
    city{"Singapore", "Singapore", "SG", "0#####", 1.3521, 103.8198, "en-SG", "65"},
    city{"Sydney", "New South Wales", "AU", "2###", -33.8688, 151.2093, "en-AU", "61"},
    city{"Melbourne", "Victoria", "AU", "3###", -37.8136, 144.9631, "en-AU", "61"},
    city{"Auckland", "Auckland", "NZ", "10##", -36.8485, 174.7633, "en-NZ", "64"},
    city{"Cape Town", "Western Cape", "ZA", "80##", -33.9249, 18.4241, "en-ZA", "27"},
    city{"Lagos", "Lagos", "NG", "1000##", 6.5244, 3.3792, "en-NG", "234"},
    city{"Nairobi", "Nairobi", "KE", "00###", -1.2921, 36.8219, "en-KE", "254"},
};

// Fictional companies only.
constexpr std::array<std::string_view, 20> companies{
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Corporation",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent",
    "Tyrell Corporation",
    "Cyberdyne Systems",
    "Wonka Industries",
    "Vandelay Industries",
    "Dunder Mifflin",
    "Pied Piper",
    "Massive Dynamic",
    "Aperture Science",
    "Black Mesa",
    "Oceanic Airlines",
    "Gringotts",
    "Monsters, Inc.",
};

// The enumerated values belong to the users shape the records follow.
using default_schemas::users_values::colors;
using default_schemas::users_values::plans;
using default_schemas::users_values::signup_sources;
using default_schemas::users_values::tag_names;

void append_number(std::string& out, std::uint64_t n, int min_digits = 1) {
    char buffer[24];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, n).ptr;
    const auto digits = static_cast<int>(end - buffer);
    if (digits < min_digits) out.append(static_cast<std::size_t>(min_digits - digits), '0');
    out.append(buffer, end);
}

/// A short string built on the stack: most values are composed here and copied once into the
/// JSON object, instead of going through a heap std::string first.
class text_buffer {
public:
    void push_back(char c) noexcept {
        if (size_ < sizeof data_) data_[size_++] = c;
    }
    void append(std::string_view s) noexcept {
        for (char c : s) push_back(c);
    }
    void number(std::uint64_t n, int min_digits = 1) noexcept {
        char buffer[24];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, n).ptr;
        for (auto digits = static_cast<int>(end - buffer); digits < min_digits; ++digits) push_back('0');
        append({buffer, static_cast<std::size_t>(end - buffer)});
    }
    void digit(std::uint32_t d) noexcept { push_back(static_cast<char>('0' + d)); }
    std::string_view view() const noexcept { return {data_, size_}; }

private:
    char data_[96];
    std::size_t size_ = 0;
};

std::string user_id(std::uint64_t index) {
    std::string id = "u-";
    append_number(id, index + 1, 6);
    return id;
}

/// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm); the generic layout formatter
/// of core/types costs more than the rest of a record.
void append_date(text_buffer& out, std::int64_t days) noexcept {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto doe = static_cast<std::uint32_t>(days - era * 146097);
    const std::uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::uint32_t mp = (5 * doy + 2) / 153;
    const std::uint32_t day = doy - (153 * mp + 2) / 5 + 1;
    const std::uint32_t month = mp < 10 ? mp + 3 : mp - 9;
    const auto year = static_cast<std::uint64_t>(static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2));
    out.number(year, 4);
    out.push_back('-');
    out.number(month, 2);
    out.push_back('-');
    out.number(day, 2);
}

/// The canonical datetime form "YYYY-MM-DDTHH:MM:SS.ffffffZ" (time_layout.hpp) of a time in
/// years 1..9999.
void append_datetime(text_buffer& out, std::int64_t micros) noexcept {
    constexpr std::int64_t per_day = 86'400LL * micros_per_second;
    std::int64_t days = micros / per_day;
    std::int64_t in_day = micros % per_day;
    if (in_day < 0) {
        in_day += per_day;
        --days;
    }
    append_date(out, days);
    const auto seconds = static_cast<std::uint64_t>(in_day / micros_per_second);
    out.push_back('T');
    out.number(seconds / 3600, 2);
    out.push_back(':');
    out.number(seconds / 60 % 60, 2);
    out.push_back(':');
    out.number(seconds % 60, 2);
    out.push_back('.');
    out.number(static_cast<std::uint64_t>(in_day % micros_per_second), 6);
    out.push_back('Z');
}

void append_digits(text_buffer& out, rng& r, int n) {
    for (int i = 0; i < n; ++i) out.digit(r.below(10));
}

void append_postal_code(text_buffer& out, std::string_view pattern, rng& r) {
    for (char c : pattern) {
        if (c == '#') {
            out.digit(r.below(10));
        } else if (c == '@') {
            out.push_back(static_cast<char>('A' + r.below(26)));
        } else {
            out.push_back(c);
        }
    }
}

void append_phone(text_buffer& out, const city& c, rng& r) {
    out.push_back('+');
    out.append(c.calling_code);
    if (c.calling_code == "1") {
        // NANP: area code, then 555-01XX, the range reserved for fiction.
        out.digit(2 + r.below(8));
        append_digits(out, r, 2);
        out.append("55501");
        append_digits(out, r, 2);
    } else {
        out.digit(1 + r.below(9));
        append_digits(out, r, 8);
    }
}

/// Rounds to 4 decimals (~10 m), so the value prints short and round-trips.
double coordinate(double base, rng& r) {
    const double jitter = (static_cast<double>(r.below(2001)) - 1000.0) / 10000.0;  // ±0.1°
    return static_cast<double>(static_cast<std::int64_t>((base + jitter) * 10000.0)) / 10000.0;
}

std::optional<std::string> out_of_range(std::string_view name, std::uint64_t max) {
    std::string message = "dummy setting ";
    message += name;
    message += " must be at most ";
    append_number(message, max);
    return message;
}

}  // namespace

std::optional<std::string> check(const generator_settings& s) {
    if (s.count > max_count) return out_of_range("count", max_count);
    if (s.page_size == 0) return std::string{"dummy setting page_size must be at least 1"};
    if (s.page_size > max_page_size) return out_of_range("page_size", max_page_size);
    if (s.tie_groups > max_tie_group) return out_of_range("tie_groups", max_tie_group);
    if (s.run > max_run) return out_of_range("run", max_run);
    if (s.page_delay < std::chrono::milliseconds::zero()) {
        return std::string{"dummy setting page_delay must not be negative"};
    }
    if (s.page_delay > max_page_delay) {
        return out_of_range("page_delay (ms)", static_cast<std::uint64_t>(max_page_delay.count()));
    }
    return std::nullopt;
}

user_record make_user(std::uint64_t seed,
                      std::uint64_t index,
                      std::uint32_t version,
                      std::int64_t updated_at,
                      const json::storage_ptr& sp) {
    // Two streams: properties that never change come from (seed, index), so an update keeps the
    // person; the mutable ones from (seed, index, version).
    rng fixed{hash(seed, salt_static, index)};
    rng mutable_{hash(seed, salt_version, index, version)};

    const name& first = fixed.pick(first_names);
    const name& last = fixed.pick(last_names);
    const city& where = fixed.pick(cities);
    const std::string_view domain = fixed.pick(email_domains);

    // Constructed in `sp`: a JSON container's assignment keeps its own storage.
    user_record out{.id = user_id(index), .updated_at = updated_at, .properties = json::object(sp)};

    text_buffer email;
    email.append(first.email);
    email.push_back('.');
    email.append(last.email);
    email.number(index + 1);  // keeps addresses unique
    email.push_back('@');
    email.append(domain);

    // Created between ~2022-04 and 2024-12-31: always before any updated_at (late ones included).
    const std::int64_t created_at =
        base_time - (86'400 + static_cast<std::int64_t>(fixed.below(1000 * 86'400))) * micros_per_second -
        static_cast<std::int64_t>(fixed.below(1'000'000));
    // Born 1950-01-01 .. 2005-12-31 (days since the epoch).
    const std::int64_t birth_days = -7305 + static_cast<std::int64_t>(fixed.below(20'454));
    const bool has_birth_date = fixed.percent(90);
    const bool has_company = fixed.percent(65);
    const std::string_view company = fixed.pick(companies);
    const std::string_view color = fixed.pick(colors);
    const std::string_view source = fixed.pick(signup_sources);

    const std::uint32_t plan_roll = mutable_.below(100);
    const std::size_t plan = plan_roll < 50 ? 0 : plan_roll < 75 ? 1 : plan_roll < 93 ? 2 : 3;
    static constexpr std::array<std::uint32_t, 4> plan_cents{5'000, 50'000, 500'000, 5'000'000};
    const std::uint64_t cents =
        mutable_.below(plan_cents[plan]) + std::uint64_t{version} * mutable_.below(10'000);
    // Each tag with probability 1/4: bits of two draws and-ed together.
    const std::uint64_t tag_mask = mutable_.next() & mutable_.next();

    json::object& p = out.properties;
    p.reserve(16);
    p.emplace("id", out.id);
    p.emplace("email", email.view());
    p.emplace("first_name", first.display);
    p.emplace("last_name", last.display);
    text_buffer phone;
    append_phone(phone, where, fixed);
    p.emplace("phone", phone.view());
    if (has_company) {
        p.emplace("company", company);
    } else {
        p.emplace("company", nullptr);
    }
    if (has_birth_date) {
        text_buffer date;
        append_date(date, birth_days);
        p.emplace("birth_date", date.view());
    } else {
        p.emplace("birth_date", nullptr);
    }
    p.emplace("locale", where.locale);
    text_buffer created;
    append_datetime(created, created_at);
    p.emplace("created_at", created.view());
    text_buffer updated;
    append_datetime(updated, updated_at);
    p.emplace("updated_at", updated.view());
    p.emplace("plan", plans[plan]);
    text_buffer value;  // decimal(12,2) canonical: no leading zeros, exactly two fraction digits
    value.number(cents / 100);
    value.push_back('.');
    value.number(cents % 100, 2);
    p.emplace("lifetime_value", value.view());
    p.emplace("is_active", mutable_.percent(85));

    // Built in the record's storage, so that moving them in moves rather than copies.
    json::array tags(sp);
    tags.reserve(4);
    for (std::size_t t = 0; t < tag_names.size(); ++t) {
        if (tag_mask & (1ULL << t)) tags.emplace_back(tag_names[t]);
    }
    p.emplace("tags", std::move(tags));

    json::object location(sp);
    location.reserve(6);
    location.emplace("city", where.name);
    location.emplace("region", where.region);
    location.emplace("country", where.country);
    text_buffer postal;
    append_postal_code(postal, where.postal, fixed);
    location.emplace("postal_code", postal.view());
    location.emplace("lat", coordinate(where.lat, fixed));
    location.emplace("lon", coordinate(where.lon, fixed));
    p.emplace("location", std::move(location));

    json::object custom(sp);
    custom.reserve(3);
    custom.emplace("favorite_color", color);
    custom.emplace("signup_source", source);
    custom.emplace("score", static_cast<std::int64_t>(mutable_.below(101)));
    p.emplace("custom", std::move(custom));
    return out;
}

struct generator::slot {
    std::size_t region = 0;
    std::uint64_t user = 0;
    /// The time of the slot's place in the order; updated_at unless the record is late.
    std::int64_t time = 0;
    std::int64_t updated_at = 0;
    bool live = false;
};

generator::generator(generator_settings settings)
    : settings_(settings), tie_size_(std::max<std::uint64_t>(settings.tie_groups, 1)) {
    if (auto error = check(settings_)) throw std::invalid_argument(*error);
    region_start_.reserve(settings_.run + 2);
    region_start_.push_back(0);
    region_start_.push_back(settings_.count);
    for (std::uint32_t k = 1; k <= settings_.run; ++k) {
        const std::uint64_t residue = (k - 1) % update_period;
        const std::uint64_t updated =
            settings_.count > residue ? (settings_.count - residue + update_period - 1) / update_period : 0;
        region_start_.push_back(region_start_.back() + updated);
    }
}

std::uint32_t generator::version_of(std::uint64_t index) const noexcept {
    const std::uint64_t residue = index % update_period;
    if (settings_.run < residue + 1) return 0;
    return static_cast<std::uint32_t>(residue + 1 +
                                      update_period * ((settings_.run - residue - 1) / update_period));
}

generator::slot generator::slot_at(std::uint64_t position) const noexcept {
    const auto it = std::upper_bound(region_start_.begin(), region_start_.end(), position);
    const auto region = static_cast<std::size_t>(it - region_start_.begin() - 1);
    const std::uint64_t size = region_start_[region + 1] - region_start_[region];
    const std::uint64_t m = position - region_start_[region];
    const std::uint64_t block = m / tie_size_;
    const std::uint64_t block_start = block * tie_size_;
    const std::uint64_t block_len = std::min(tie_size_, size - block_start);
    const std::uint64_t natural =
        block_start + permute(m - block_start, block_len, hash(settings_.seed, salt_shuffle, region, block));

    slot s;
    s.region = region;
    s.user = region == 0 ? natural : (region - 1) % update_period + update_period * natural;
    // One second per slot keeps times increasing through the blocks: a block's jitter stays below
    // one second, and the next block starts at least one second later.
    const auto region_base = base_time + static_cast<std::int64_t>(region) *
                                             (static_cast<std::int64_t>(settings_.count) + run_gap_seconds) *
                                             micros_per_second;
    s.time = region_base + static_cast<std::int64_t>(block_start) * micros_per_second +
             static_cast<std::int64_t>(hash(settings_.seed, salt_jitter, region, block) % micros_per_second);
    s.updated_at = s.time;
    if (settings_.late_records) {
        const std::uint64_t h = hash(settings_.seed, salt_late, region, natural);
        if (h % late_one_in == 0) {
            // 5 to 15 minutes: several pages back at one second per record, less than a day so
            // the record stays after created_at and after the previous run's region.
            s.updated_at -= static_cast<std::int64_t>(300 + (h >> 8) % 600) * micros_per_second +
                            static_cast<std::int64_t>((h >> 20) % micros_per_second);
        }
    }
    s.live = version_of(s.user) == region;
    return s;
}

std::uint64_t generator::first_position(std::int64_t since) const noexcept {
    // Slot times never decrease with the position, and updated_at <= time, so no record with
    // updated_at >= since sits before the first slot whose time is >= since.
    std::uint64_t low = 0;
    std::uint64_t high = total_slots();
    while (low < high) {
        const std::uint64_t mid = low + (high - low) / 2;
        if (slot_at(mid).time < since) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return low;
}

std::uint64_t generator::next_match(std::uint64_t from, std::int64_t since) const noexcept {
    std::uint64_t position = from;
    while (position < total_slots()) {
        const auto it = std::upper_bound(region_start_.begin(), region_start_.end(), position);
        const auto region = static_cast<std::size_t>(it - region_start_.begin() - 1);
        // A region whose every user was updated again later holds no live slot: skip it whole,
        // so late runs do not walk the superseded history record by record.
        const bool superseded =
            region == 0 ? settings_.run >= update_period : region + update_period <= settings_.run;
        if (superseded) {
            position = region_start_[region + 1];
            continue;
        }
        const slot s = slot_at(position);
        if (s.live && s.updated_at >= since) return position;
        ++position;
    }
    return total_slots();
}

std::uint64_t generator::fill(std::uint64_t from,
                              std::int64_t since,
                              std::vector<user_record>& out,
                              const json::storage_ptr& sp) const {
    std::uint64_t position = from;
    while (out.size() < settings_.page_size) {
        position = next_match(position, since);
        if (position >= total_slots()) break;
        const slot s = slot_at(position);
        out.push_back(
            make_user(settings_.seed, s.user, static_cast<std::uint32_t>(s.region), s.updated_at, sp));
        ++position;
    }
    return position;
}

bool generator::duplicate_at(std::uint64_t position) const noexcept {
    return hash(settings_.seed, salt_duplicate, position) % duplicate_one_in == 0;
}

namespace {

// Cursor: "<next>.<previous page start>.<repeat done>", decimal. Opaque to callers.
struct cursor_state {
    std::uint64_t next = 0;
    std::uint64_t previous = 0;
    bool repeated = false;
};

std::string encode(const cursor_state& c) {
    std::string out;
    append_number(out, c.next);
    out.push_back('.');
    append_number(out, c.previous);
    out += c.repeated ? ".1" : ".0";
    return out;
}

std::optional<cursor_state> decode(std::string_view text) {
    cursor_state c;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    auto number = [&](std::uint64_t& n) {
        const auto [next, ec] = std::from_chars(p, end, n);
        if (ec != std::errc{} || next == p) return false;
        p = next;
        return true;
    };
    auto dot = [&] {
        if (p == end || *p != '.') return false;
        ++p;
        return true;
    };
    std::uint64_t flag = 0;
    if (!number(c.next) || !dot() || !number(c.previous) || !dot() || !number(flag) || p != end || flag > 1) {
        return std::nullopt;
    }
    c.repeated = flag == 1;
    return c;
}

}  // namespace

types::result<user_page> generator::fetch(std::int64_t since,
                                          std::string_view cursor,
                                          const json::storage_ptr& sp) const {
    cursor_state at;
    bool has_previous = false;
    if (cursor.empty()) {
        at.next = first_position(since);
    } else {
        auto decoded = decode(cursor);
        if (!decoded || decoded->next >= total_slots() || decoded->previous > decoded->next) {
            return types::unexpected{"dummy: invalid cursor"};
        }
        at = *decoded;
        has_previous = true;
    }

    user_page out;
    out.records.reserve(settings_.page_size);
    if (settings_.duplicate_pages && has_previous && !at.repeated && duplicate_at(at.previous)) {
        // The data is a pure function of the position, so refilling from the previous page's
        // start serves exactly that page again; the flag makes the repeat happen once.
        fill(at.previous, since, out.records, sp);
        out.next_cursor = encode({at.next, at.previous, true});
        return out;
    }
    const std::uint64_t end = fill(at.next, since, out.records, sp);
    const std::uint64_t next = next_match(end, since);
    if (next >= total_slots()) {
        out.last = true;
    } else {
        out.next_cursor = encode({next, at.next, false});
    }
    return out;
}

user_record generator::user(std::uint64_t index) const {
    if (index >= settings_.count) throw std::out_of_range("dummy: user index out of range");
    const std::uint32_t version = version_of(index);
    // Find the user's slot in its region: run 0 is indexed by user, run k by (index - residue) / 10;
    // then undo the tie shuffle by walking the block (a block is at most max_tie_group long, and
    // this is a test and benchmark helper).
    const std::uint64_t natural = version == 0 ? index : index / update_period;
    const std::uint64_t region_begin = region_start_[version];
    const std::uint64_t block_start = natural / tie_size_ * tie_size_;
    const std::uint64_t region_size = region_start_[version + 1] - region_begin;
    const std::uint64_t block_end = std::min(block_start + tie_size_, region_size);
    for (std::uint64_t m = block_start; m < block_end; ++m) {
        const slot s = slot_at(region_begin + m);
        if (s.user == index) return make_user(settings_.seed, index, version, s.updated_at);
    }
    throw std::logic_error("dummy: user slot not found");
}

const types::type& user_schema() {
    return default_schemas::users();
}

}  // namespace tributary::connectors::dummy
