#include <gtest/gtest.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/kit/fake_server.hpp"
#include "tests/kit/test_client.hpp"
#include "tests/kit/test_pki.hpp"

using namespace std::chrono_literals;
namespace kit = tributary::kit;
namespace ssl = boost::asio::ssl;
using kit::fake_server;
using kit::response;
using kit::server_identity;
using kit::step;
using kit::test_client;
using kit::test_pki;

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::shared_ptr<ssl::context> client_ctx(bool trust_unknown_ca = false) {
    return std::make_shared<ssl::context>(test_pki::shared()->client_context(trust_unknown_ca));
}

bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

}  // namespace

TEST(TestPki_Files, ArePemMatchingMemoryAndRemovedWithThePki) {
    std::filesystem::path dir;
    {
        test_pki pki;
        dir = pki.dir();
        EXPECT_EQ(read_file(pki.ca_file()), pki.ca_pem());
        EXPECT_EQ(read_file(pki.unknown_ca_file()), pki.unknown_ca_pem());
        EXPECT_EQ(read_file(pki.server().cert_file), pki.server().cert_pem);
        EXPECT_EQ(read_file(pki.server().key_file), pki.server().key_pem);
        EXPECT_EQ(pki.ca_pem().rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
        EXPECT_EQ(pki.server().key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
        EXPECT_NE(pki.ca_pem(), pki.unknown_ca_pem());
        EXPECT_NE(pki.server(server_identity::localhost).cert_pem,
                  pki.server(server_identity::wrong_host).cert_pem);
        const auto perms = std::filesystem::status(dir).permissions();
        EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
                  std::filesystem::perms::none);
    }
    EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(FakeServerTls_TestCa, HandshakeSucceedsAndRequestIsServed) {
    fake_server server({.tls = true});
    server.script("GET", "/s", {response::text(200, "secure")});
    EXPECT_EQ(server.base_url(), "https://127.0.0.1:" + std::to_string(server.port()));
    test_client client(server);
    const auto r = client.get("/s");
    ASSERT_TRUE(r.ok()) << r.failed_phase << ": " << r.ec.message();
    EXPECT_EQ(r.body, "secure");
    EXPECT_TRUE(client.get("/s").reused_connection);
    const auto log = server.requests();
    ASSERT_EQ(log.size(), 2u);
    EXPECT_TRUE(log[0].tls);
    EXPECT_EQ(log[0].connection_id, log[1].connection_id);
    EXPECT_EQ(server.tls_handshake_failures(), 0u);
}

TEST(FakeServerTls_TestCa, IpAddressSanVerifies) {
    fake_server server({.tls = true});
    server.script("GET", "/s", {step{}});
    test_client client(server, {.tls = client_ctx(), .verify_host = "127.0.0.1"});
    const auto r = client.get("/s");
    EXPECT_TRUE(r.ok()) << r.failed_phase << ": " << r.ec.message();
}

TEST(FakeServerTls_UnknownCa, HandshakeFails) {
    fake_server server({.tls = true});
    server.script("GET", "/s", {step{}});
    test_client client(server, {.tls = client_ctx(true), .verify_host = "localhost"});
    const auto r = client.get("/s");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.failed_phase, "handshake");
    EXPECT_EQ(r.ec.category(), boost::asio::error::get_ssl_category()) << r.ec.message();
    EXPECT_EQ(server.request_count(), 0u);
    EXPECT_TRUE(eventually([&] { return server.tls_handshake_failures() == 1; }));
}

TEST(FakeServerTls_WrongHost, HostNameVerificationFails) {
    fake_server server({.tls = true, .identity = server_identity::wrong_host});
    server.script("GET", "/s", {step{}});
    test_client wrong(server, {.tls = client_ctx(), .verify_host = "localhost"});
    const auto r = wrong.get("/s");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.failed_phase, "handshake");
    // The same certificate passes for the name it was issued to: only the name was wrong.
    test_client right(server, {.tls = client_ctx(), .verify_host = "wrong.example.invalid"});
    const auto ok = right.get("/s");
    EXPECT_TRUE(ok.ok()) << ok.failed_phase << ": " << ok.ec.message();
}

TEST(FakeServerTls_Expired, HandshakeFails) {
    fake_server server({.tls = true, .identity = server_identity::expired});
    server.script("GET", "/s", {step{}});
    test_client client(server);
    const auto r = client.get("/s");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.failed_phase, "handshake");
}

TEST(FakeServerTls_Versions, ServesTls12AndTls13) {
    fake_server server({.tls = true});
    server.script("GET", "/s", {step{}});
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        auto ctx = client_ctx();
        SSL_CTX_set_min_proto_version(ctx->native_handle(), version);
        SSL_CTX_set_max_proto_version(ctx->native_handle(), version);
        test_client client(server, {.tls = ctx, .verify_host = "localhost"});
        const auto r = client.get("/s");
        EXPECT_TRUE(r.ok()) << std::hex << version << ": " << r.ec.message();
    }
}

TEST(TestPki_Contexts, RequireAtLeastTls12WithoutCappingIt) {
    const auto pki = test_pki::shared();
    ssl::context server = pki->server_context();
    ssl::context client = pki->client_context();
    for (SSL_CTX* ctx : {server.native_handle(), client.native_handle()}) {
        EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
        EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), 0) << "0 means no cap";
    }
    EXPECT_EQ(SSL_CTX_get_verify_mode(client.native_handle()) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
}

TEST(FakeServerTls_Faults, CutBodyFailsAndCloseDelimitedBodyCompletes) {
    fake_server server({.tls = true});
    server.script("GET", "/cut", {step{.body = "never", .inject = kit::fault::close_after_headers}});
    server.script("GET", "/raw",
                  {step{.close = true, .raw = std::string("HTTP/1.1 200 OK\r\n\r\neof-delimited")}});
    test_client client(server);
    EXPECT_FALSE(client.get("/cut").ok());
    // A close-delimited body over TLS ends with close_notify, so it reads as complete.
    const auto raw = client.get("/raw");
    ASSERT_TRUE(raw.ok()) << raw.ec.message();
    EXPECT_EQ(raw.body, "eof-delimited");
}
