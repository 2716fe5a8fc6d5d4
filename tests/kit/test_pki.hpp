#pragma once
// Certificates generated at test time with OpenSSL, so no key material lives in the repository
// and nothing expires in CI a year from now.
//
// One test_pki holds:
// - a CA (EC P-256 key, self-signed, valid from yesterday for 10 years);
// - server certificates signed by it, one per server_identity;
// - an unrelated "unknown" CA, for tests where the client must refuse the server.
// Everything is kept in memory as PEM and also written to a private temporary directory (mode
// 0700), removed by the destructor, for code that loads files (config `ca_file:` and the like).
//
// Thread-safety: immutable after construction; const members may be called from any thread.

#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace tributary::kit {

/// Which server certificate to present.
enum class server_identity {
    /// SANs DNS:localhost, IP:127.0.0.1, IP:::1; CN localhost.
    localhost,
    /// SAN DNS:wrong.example.invalid only (CN too): valid chain, wrong host name.
    wrong_host,
    /// The localhost SANs, but notAfter was yesterday.
    expired,
};

struct pem_credentials {
    std::string cert_pem{};
    std::string key_pem{};
    std::filesystem::path cert_file{};
    std::filesystem::path key_file{};
};

class test_pki {
public:
    /// Generates every key and certificate and writes them out. Throws std::runtime_error with
    /// OpenSSL's message on failure.
    test_pki();
    /// Removes the temporary directory.
    ~test_pki();
    test_pki(const test_pki&) = delete;
    test_pki& operator=(const test_pki&) = delete;

    /// A process-wide instance, generated on first use (thread-safe). Lives until the last
    /// shared_ptr and the static holding it are gone.
    static std::shared_ptr<const test_pki> shared();

    /// The trusted CA.
    const std::string& ca_pem() const { return ca_.cert_pem; }
    const std::filesystem::path& ca_file() const { return ca_.cert_file; }
    /// A CA that signed nothing the servers present.
    const std::string& unknown_ca_pem() const { return unknown_ca_.cert_pem; }
    const std::filesystem::path& unknown_ca_file() const { return unknown_ca_.cert_file; }

    const pem_credentials& server(server_identity id = server_identity::localhost) const;

    /// The temporary directory holding ca.pem, unknown-ca.pem, <identity>.pem and <identity>-key.pem.
    const std::filesystem::path& dir() const { return dir_; }

    /// tls_server context (TLS >= 1.2) presenting `id`'s certificate and key.
    boost::asio::ssl::context server_context(server_identity id = server_identity::localhost) const;

    /// tls_client context (TLS >= 1.2, verify_peer) trusting only the test CA, or only the unknown
    /// CA when `trust_unknown_ca`. Host name verification is per stream: the caller sets it.
    boost::asio::ssl::context client_context(bool trust_unknown_ca = false) const;

private:
    std::filesystem::path dir_;
    pem_credentials ca_;
    pem_credentials unknown_ca_;
    pem_credentials localhost_;
    pem_credentials wrong_host_;
    pem_credentials expired_;
};

}  // namespace tributary::kit
