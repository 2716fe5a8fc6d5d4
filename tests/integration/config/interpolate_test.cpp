// ${env:}, ${file:} and ${cred:} references (config/interpolate.hpp), with an
// injected environment and temporary files.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "config/interpolate.hpp"
#include "tests/config/test_environment.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using tributary::config::environment;
using tributary::config::interpolate;
using tributary::config::test::test_environment;

namespace {

environment env_with(std::map<std::string, std::string> vars) {
    return test_environment(std::move(vars));
}

}  // namespace

TEST(Interpolate_NoReference, ValueUnchangedAndNotSecret) {
    auto r = interpolate("plain $text with $ signs and {braces}", env_with({}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->value, "plain $text with $ signs and {braces}");
    EXPECT_FALSE(r->secret);
}

TEST(Interpolate_Env, SubstitutedAndSecret) {
    auto r = interpolate("${env:TOKEN}", env_with({{"TOKEN", "abc"}}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->value, "abc");
    EXPECT_TRUE(r->secret);
}

TEST(Interpolate_Embedded, SeveralReferencesInOneValue) {
    auto r = interpolate("Bearer ${env:A}:${env:B}!", env_with({{"A", "x"}, {"B", "y"}}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->value, "Bearer x:y!");
    EXPECT_TRUE(r->secret);
}

TEST(Interpolate_SetButEmpty, IsAValue) {
    auto r = interpolate("[${env:EMPTY}]", env_with({{"EMPTY", ""}}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->value, "[]");
}

TEST(Interpolate_Escape, DollarDollarBraceIsLiteral) {
    auto r = interpolate("$${env:A} costs $$5 and ${env:A}", env_with({{"A", "x"}}));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->value, "${env:A} costs $$5 and x");
    auto only_escape = interpolate("$${not a reference}", env_with({}));
    ASSERT_TRUE(only_escape.ok());
    EXPECT_EQ(only_escape->value, "${not a reference}");
    EXPECT_FALSE(only_escape->secret);
}

TEST(Interpolate_NoRecursion, ValueContainingReferenceStaysAsIs) {
    auto r = interpolate("${env:A}", env_with({{"A", "${env:B}"}, {"B", "no"}}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value, "${env:B}");
}

TEST(Interpolate_EnvMissing, ErrorNamesTheVariableOnly) {
    auto r = interpolate("${env:NOPE} and ${env:ALSO_NOPE} and ${env:SET}", env_with({{"SET", "hunter2"}}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "environment variable NOPE is not set; environment variable ALSO_NOPE is not set");
    EXPECT_EQ(r.error().find("hunter2"), std::string::npos);
}

TEST(Interpolate_NoGetenv, EveryVariableUnset) {
    environment env;
    auto r = interpolate("${env:HOME}", env);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "environment variable HOME is not set");
}

TEST(Interpolate_File, ContentWithOneTrailingNewlineStripped) {
    tributary::test::temp_dir dir;
    dir.write("key.txt", "s3cret\n\n");
    dir.write("crlf.txt", "win\r\n");
    dir.write("sub/plain.txt", "no newline");
    auto env = env_with({});
    env.base_dir = dir.path();
    auto a = interpolate("${file:key.txt}", env);
    ASSERT_TRUE(a.ok()) << a.error();
    EXPECT_EQ(a->value, "s3cret\n");
    EXPECT_TRUE(a->secret);
    EXPECT_EQ(interpolate("${file:crlf.txt}", env)->value, "win");
    EXPECT_EQ(interpolate("${file:sub/plain.txt}", env)->value, "no newline");
    EXPECT_EQ(interpolate("${file:" + (dir.path() / "sub/plain.txt").string() + "}", env)->value,
              "no newline");
}

TEST(Interpolate_FileMissing, ErrorNamesTheReferenceAndResolvedPath) {
    tributary::test::temp_dir dir;
    auto env = env_with({});
    env.base_dir = dir.path();
    auto r = interpolate("${file:missing.txt}", env);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "${file:missing.txt}: cannot read " + (dir.path() / "missing.txt").string() +
                             ": No such file or directory");
}

TEST(Interpolate_FileIsDirectory, Rejected) {
    tributary::test::temp_dir dir;
    auto env = env_with({});
    env.base_dir = dir.path();
    dir.write("d/x", "");
    auto r = interpolate("${file:d}", env);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("Is a directory"), std::string::npos) << r.error();
}

TEST(Interpolate_FileTooLarge, Rejected) {
    tributary::test::temp_dir dir;
    auto env = env_with({});
    env.base_dir = dir.path();
    dir.write("big", std::string(tributary::config::max_reference_file_bytes + 1, 'x'));
    auto r = interpolate("${file:big}", env);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("larger than 1048576 bytes"), std::string::npos) << r.error();
}

TEST(Interpolate_Cred, ReadsFromTheCredentialsDirectory) {
    tributary::test::temp_dir dir;
    dir.write("klaviyo_key", "pk_live_123\n");
    auto env = env_with({});
    env.credentials_dir = dir.path();
    auto r = interpolate("${cred:klaviyo_key}", env);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->value, "pk_live_123");
    EXPECT_TRUE(r->secret);
    auto missing = interpolate("${cred:other}", env);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error(), "${cred:other}: cannot read " + (dir.path() / "other").string() +
                                   ": No such file or directory");
}

TEST(Interpolate_CredWithoutDirectory, SaysCredentialsDirectoryIsUnset) {
    auto r = interpolate("${cred:klaviyo_key}", env_with({}));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("${cred:klaviyo_key}: $CREDENTIALS_DIRECTORY is unset"), std::string::npos)
        << r.error();
}

TEST(Interpolate_CredName, MustBeAFileName) {
    tributary::test::temp_dir dir;
    auto env = env_with({});
    env.credentials_dir = dir.path();
    for (std::string_view ref : {"${cred:../etc/passwd}", "${cred:a/b}", "${cred:..}", "${cred:}"}) {
        auto r = interpolate(ref, env);
        ASSERT_FALSE(r.ok()) << ref;
        EXPECT_NE(r.error().find("a credential name is a file name"), std::string::npos) << r.error();
    }
}

TEST(Interpolate_Malformed, Errors) {
    auto env = env_with({{"A", "x"}});
    EXPECT_EQ(interpolate("${env:A", env).error(), "unterminated ${ (write $${ for a literal ${)");
    EXPECT_EQ(interpolate("${vault:a}", env).error(),
              "unknown reference scheme \"vault\"; use ${env:NAME}, ${file:PATH} or ${cred:NAME}");
    EXPECT_EQ(
        interpolate("${A}", env).error(),
        "${A}: a reference needs a scheme; use ${env:NAME}, ${file:PATH} or ${cred:NAME} (write $${ for a "
        "literal ${)");
    EXPECT_EQ(interpolate("${env:}", env).error(), "${env:}: invalid environment variable name");
    EXPECT_EQ(interpolate("${env:9A}", env).error(), "${env:9A}: invalid environment variable name");
    EXPECT_EQ(interpolate("${file:}", env).error(), "${file:}: a path is required");
}

TEST(Interpolate_FromProcess, ReadsTheProcessEnvironment) {
    ::setenv("TRIBUTARY_INTERPOLATE_TEST", "from-process", 1);
    ::unsetenv("CREDENTIALS_DIRECTORY");
    auto env = environment::from_process("/tmp");
    EXPECT_EQ(env.base_dir, fs::path("/tmp"));
    EXPECT_FALSE(env.credentials_dir);
    EXPECT_EQ(interpolate("${env:TRIBUTARY_INTERPOLATE_TEST}", env)->value, "from-process");
    ::setenv("CREDENTIALS_DIRECTORY", "/run/credentials/tributary.service", 1);
    EXPECT_EQ(environment::from_process("/tmp").credentials_dir,
              fs::path("/run/credentials/tributary.service"));
    ::unsetenv("CREDENTIALS_DIRECTORY");
    ::unsetenv("TRIBUTARY_INTERPOLATE_TEST");
}

TEST(Interpolate_CheckOnly, LooksNothingUpButMarksTheValueUnresolved) {
    tributary::test::temp_dir dir;
    environment env = env_with({});  // MISSING is unset, no credentials directory, no such file
    auto r = interpolate("Bearer ${env:MISSING} ${file:nope.txt} ${cred:key}", env,
                         tributary::config::reference_mode::check_only);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_TRUE(r->secret);
    EXPECT_TRUE(r->unresolved);

    auto plain =
        interpolate("no reference, $${env:X} escaped", env, tributary::config::reference_mode::check_only);
    ASSERT_TRUE(plain.ok()) << plain.error();
    EXPECT_FALSE(plain->unresolved);
    EXPECT_EQ(plain->value, "no reference, ${env:X} escaped");
}

TEST(Interpolate_CheckOnly, BadlyWrittenReferencesAreStillErrors) {
    for (const char* text :
         {"${env:1BAD}", "${vault:x}", "${nothing}", "${file:}", "${cred:a/b}", "${env:X"}) {
        auto r = interpolate(text, env_with({}), tributary::config::reference_mode::check_only);
        EXPECT_FALSE(r.ok()) << text;
    }
}
