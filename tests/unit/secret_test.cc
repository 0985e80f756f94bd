// --secret-file: the file `synwave secret generate` writes is private and
// loads back; a missing, readable-by-others or malformed file is refused
// with an error that says what to do.
#include "control/secret.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace synwave::control {
namespace {

class SecretTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/synwave-secret-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/secret";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string Error(const std::string& path) {
    absl::StatusOr<tcp::SipKey> k = LoadSecret(path);
    EXPECT_FALSE(k.ok());
    return std::string(k.status().message());
  }
  std::string dir_, path_;
};

TEST_F(SecretTest, GeneratedSecretIsPrivateAndLoads) {
  ASSERT_TRUE(GenerateSecret(path_).ok());
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<tcp::SipKey> a = LoadSecret(path_);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<tcp::SipKey> b = LoadSecret(path_);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->k0, b->k0);
  EXPECT_EQ(a->k1, b->k1);
  EXPECT_FALSE(a->k0 == 0 && a->k1 == 0);
  // Never overwritten: a second generate fails.
  EXPECT_FALSE(GenerateSecret(path_).ok());
}

TEST_F(SecretTest, TwoGeneratedSecretsDiffer) {
  const std::string other = dir_ + "/other";
  ASSERT_TRUE(GenerateSecret(path_).ok());
  ASSERT_TRUE(GenerateSecret(other).ok());
  const tcp::SipKey a = *LoadSecret(path_);
  const tcp::SipKey b = *LoadSecret(other);
  EXPECT_FALSE(a.k0 == b.k0 && a.k1 == b.k1);
  std::remove(other.c_str());
}

TEST_F(SecretTest, RefusesWhatIsNotPrivateOrNotASecret) {
  EXPECT_NE(Error(path_).find("synwave secret generate"), std::string::npos);
  ASSERT_TRUE(GenerateSecret(path_).ok());
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  EXPECT_NE(Error(path_).find("chmod 600"), std::string::npos);
  ASSERT_EQ(chmod(path_.c_str(), 0600), 0);
  { std::ofstream(path_) << "not a secret\n"; }
  EXPECT_NE(Error(path_).find("is not a synwave secret"), std::string::npos);
}

}  // namespace
}  // namespace synwave::control
