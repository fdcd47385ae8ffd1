#include "util/file.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace magnumd::util {
namespace {

namespace fs = std::filesystem;

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "magnumd-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static unsigned modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    return out;
  }

  std::string dir_;
};

TEST_F(SecretFileTest, IsPrivateEvenUnderAPermissiveUmask) {
  mode_t previous = ::umask(0);
  auto written = writeSecretFile(dir_ + "/admin.token", "s3cret\n");
  ::umask(previous);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(modeOf(dir_ + "/admin.token"), 0600u);
  EXPECT_EQ(read(dir_ + "/admin.token"), "s3cret\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"admin.token"}) << "no temporary file is left";
}

TEST_F(SecretFileTest, ReplacesAReadableFileWithAPrivateOne) {
  const std::string path = dir_ + "/clouds.yaml";
  std::ofstream(path) << "old: world-readable\n";
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto written = writeSecretFile(path, "clouds: {password: hunter2}\n");
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(read(path), "clouds: {password: hunter2}\n");
}

TEST_F(SecretFileTest, CreateOnlyNeverReplacesAnExistingFile) {
  std::string path = dir_ + "/kek";
  ASSERT_TRUE(writeSecretFile(path, "first", SecretFileMode::CreateOnly).ok());
  EXPECT_EQ(modeOf(path), 0600u);
  auto again = writeSecretFile(path, "second", SecretFileMode::CreateOnly);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
  EXPECT_NE(again.error().message.find(path), std::string::npos);
  EXPECT_EQ(read(path), "first");
  EXPECT_EQ(entries().size(), 1u) << "no temporary file is left behind";
}

TEST_F(SecretFileTest, AMissingDirectoryIsAnErrorNamingThePath) {
  const std::string path = dir_ + "/no-such-dir/admin.token";
  auto written = writeSecretFile(path, "s3cret\n");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().message, "cannot write " + path + ": creating a temporary file in " +
                                         dir_ + "/no-such-dir: No such file or directory");
}

TEST_F(SecretFileTest, AnUnwritableDirectoryIsAnError) {
  // /proc/self refuses new files even to root, who ignores a directory's mode bits.
  auto written = writeSecretFile("/proc/self/admin.token", "s3cret\n");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().message.rfind("cannot write /proc/self/admin.token: creating a "
                                          "temporary file in /proc/self: ",
                                          0),
            0u)
      << written.error().message;
}

TEST_F(SecretFileTest, AFailedRenameIsAnErrorAndLeavesNoTemporaryFile) {
  const std::string path = dir_ + "/key.pem";
  fs::create_directory(path);
  fs::create_directory(path + "/occupied");  // rename() cannot replace a non-empty directory
  auto written = writeSecretFile(path, "-----BEGIN PRIVATE KEY-----\n");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("cannot write " + path + ": renaming " + path + ".tmp-"),
            std::string::npos)
      << written.error().message;
  EXPECT_EQ(entries(), std::vector<std::string>{"key.pem"});
}

TEST_F(SecretFileTest, AFileLockIsHeldByOneHolderAtATime) {
  const std::string path = dir_ + "/magnumd.lock";
  auto first = FileLock::acquire(path);
  ASSERT_TRUE(first.ok()) << first.error().message;

  // flock locks belong to an open file, so a second open in this process conflicts as another
  // process's would.
  auto second = FileLock::acquire(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::Conflict);
  EXPECT_NE(second.error().message.find(fmt::format("pid {}", ::getpid())), std::string::npos)
      << second.error().message;

  first->reset();
  auto third = FileLock::acquire(path);
  EXPECT_TRUE(third.ok()) << third.error().message;
}

}  // namespace
}  // namespace magnumd::util
