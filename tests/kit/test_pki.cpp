#include "tests/kit/test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/buffer.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace tributary::kit {

namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const { X509_free(p); }
};
struct bio_free {
    void operator()(BIO* p) const { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

[[noreturn]] void fail(const char* what) {
    const unsigned long e = ERR_get_error();
    char buf[256] = "no OpenSSL error queued";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    throw std::runtime_error(std::string("test_pki: ") + what + ": " + buf);
}

// EC P-256: generating it takes microseconds, where RSA 2048 takes a noticeable part of a test.
pkey_ptr make_key() {
    pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
    if (!key) fail("EC key generation");
    return key;
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, ctx, nid, value);
    if (ext == nullptr) fail("X509V3_EXT_nconf_nid");
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) fail("X509_add_ext");
}

struct cert_spec {
    std::string common_name{};
    std::string subject_alt_names{};  // empty: none
    bool is_ca = false;
    long not_before_s = -86400;  // relative to now
    long not_after_s = 10L * 365 * 86400;
};

// Signs with `issuer_key` as `issuer`; both null means self-signed with `key`.
x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
    x509_ptr cert{X509_new()};
    if (!cert) fail("X509_new");
    X509_set_version(cert.get(), 2);
    // Random serials: two certificates from one issuer must never share one.
    unsigned char serial_bytes[8];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) fail("RAND_bytes");
    std::uint64_t serial = 0;
    for (unsigned char b : serial_bytes) serial = (serial << 8) | b;
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial >> 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_s);
    if (X509_set_pubkey(cert.get(), key) != 1) fail("X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("tributary tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    EVP_PKEY* signer_key = issuer_key != nullptr ? issuer_key : key;
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) fail("X509_set_issuer_name");

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
    if (spec.is_ca) {
        add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    } else {
        add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
        add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
        if (!spec.subject_alt_names.empty())
            add_ext(cert.get(), &ctx, NID_subject_alt_name, spec.subject_alt_names.c_str());
    }
    if (X509_sign(cert.get(), signer_key, EVP_sha256()) == 0) fail("X509_sign");
    return cert;
}

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string cert_pem(X509* cert) {
    bio_ptr bio{BIO_new(BIO_s_mem())};
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM_write_bio_X509");
    return bio_string(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
    bio_ptr bio{BIO_new(BIO_s_mem())};
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("PEM_write_bio_PrivateKey");
    return bio_string(bio.get());
}

void write_file(const std::filesystem::path& p, const std::string& content) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("test_pki: cannot write " + p.string());
}

pem_credentials issue(const std::filesystem::path& dir,
                      const std::string& file_stem,
                      const cert_spec& spec,
                      X509* issuer,
                      EVP_PKEY* issuer_key,
                      pkey_ptr* keep_key = nullptr,
                      x509_ptr* keep_cert = nullptr) {
    pkey_ptr key = make_key();
    x509_ptr cert = make_cert(spec, key.get(), issuer, issuer_key);
    pem_credentials c;
    c.cert_pem = cert_pem(cert.get());
    c.key_pem = key_pem(key.get());
    c.cert_file = dir / (file_stem + ".pem");
    c.key_file = dir / (file_stem + "-key.pem");
    write_file(c.cert_file, c.cert_pem);
    write_file(c.key_file, c.key_pem);
    if (keep_key != nullptr) *keep_key = std::move(key);
    if (keep_cert != nullptr) *keep_cert = std::move(cert);
    return c;
}

constexpr const char* localhost_sans = "DNS:localhost,IP:127.0.0.1,IP:::1";

}  // namespace

test_pki::test_pki() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tributary-pki-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "test_pki: mkdtemp");
    dir_ = pattern;
    try {
        pkey_ptr ca_key;
        x509_ptr ca_cert;
        ca_ = issue(dir_, "ca", {.common_name = "tributary test CA", .is_ca = true}, nullptr, nullptr,
                    &ca_key, &ca_cert);
        unknown_ca_ = issue(dir_, "unknown-ca", {.common_name = "tributary unknown CA", .is_ca = true},
                            nullptr, nullptr);
        localhost_ =
            issue(dir_, "localhost", {.common_name = "localhost", .subject_alt_names = localhost_sans},
                  ca_cert.get(), ca_key.get());
        wrong_host_ =
            issue(dir_, "wrong-host",
                  {.common_name = "wrong.example.invalid", .subject_alt_names = "DNS:wrong.example.invalid"},
                  ca_cert.get(), ca_key.get());
        expired_ = issue(dir_, "expired",
                         {.common_name = "localhost",
                          .subject_alt_names = localhost_sans,
                          .not_before_s = -2L * 86400,
                          .not_after_s = -86400},
                         ca_cert.get(), ca_key.get());
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
    }
}

test_pki::~test_pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::shared_ptr<const test_pki> test_pki::shared() {
    static std::mutex mu;
    static std::shared_ptr<const test_pki> instance;
    std::lock_guard lock(mu);
    if (!instance) instance = std::make_shared<const test_pki>();
    return instance;
}

const pem_credentials& test_pki::server(server_identity id) const {
    switch (id) {
        case server_identity::localhost:
            return localhost_;
        case server_identity::wrong_host:
            return wrong_host_;
        case server_identity::expired:
            return expired_;
    }
    return localhost_;
}

boost::asio::ssl::context test_pki::server_context(server_identity id) const {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx{ssl::context::tls_server};
    // tls_server leaves the maximum open (TLS 1.3); the floor is ours to set.
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    const auto& creds = server(id);
    ctx.use_certificate_chain(boost::asio::buffer(creds.cert_pem));
    ctx.use_private_key(boost::asio::buffer(creds.key_pem), ssl::context::pem);
    return ctx;
}

boost::asio::ssl::context test_pki::client_context(bool trust_unknown_ca) const {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx{ssl::context::tls_client};
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.add_certificate_authority(
        boost::asio::buffer(trust_unknown_ca ? unknown_ca_.cert_pem : ca_.cert_pem));
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
}

}  // namespace tributary::kit
