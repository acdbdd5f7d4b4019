//===- AtomicWriteTest.cpp - model files are replaced, never torn ---------===//

#include "runtime/model/Model.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace fsnn::model;

namespace {

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

class AtomicWrite : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/fsnn-atomic-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory = pattern;
  }
  void TearDown() override {
    std::string command = "rm -rf '" + directory + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  /// Files in the directory, to check no temporary is left behind.
  int countFiles() {
    int count = 0;
    DIR *dir = opendir(directory.c_str());
    while (dirent *entry = readdir(dir))
      if (entry->d_name[0] != '.')
        ++count;
    closedir(dir);
    return count;
  }
  std::string directory;
};

TEST_F(AtomicWrite, ReplacesTheOldContentAndLeavesNoTemporary) {
  std::string path = directory + "/m.fsnn";
  ASSERT_TRUE(writeFileAtomically(path, "old").ok());
  ASSERT_TRUE(writeFileAtomically(path, "new content").ok());
  EXPECT_EQ(readFile(path), "new content");
  EXPECT_EQ(countFiles(), 1);
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

TEST_F(AtomicWrite, AFailedWriteKeepsTheOldFile) {
  std::string path = directory + "/m.fsnn";
  ASSERT_TRUE(writeFileAtomically(path, "old").ok());
  // A directory where the file should go: refused before anything is
  // written, the old file stays, no temporary is left.
  std::string blocked = directory + "/blocked";
  ASSERT_EQ(mkdir(blocked.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((blocked + "/x").c_str(), 0755), 0);
  Status status = writeFileAtomically(blocked, "new");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("blocked is a directory"), std::string::npos)
      << status.message();
  EXPECT_EQ(readFile(path), "old");
  EXPECT_EQ(countFiles(), 2); // m.fsnn and blocked/, no temporary
}

TEST_F(AtomicWrite, AMissingDirectoryIsReported) {
  Status status = writeFileAtomically(directory + "/no/such/m.fsnn", "x");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot create a temporary file"),
            std::string::npos);
}

} // namespace
