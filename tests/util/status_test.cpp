#include "tenet/util/status.h"

#include <gtest/gtest.h>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("v", "must be positive");
  return v;
}

Result<int> Doubled(int v) {
  TENET_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

TEST(Status, RendersCodeAndMessage) {
  Status s = Status::NotFound("tiny/config.json", "no such file");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "tiny/config.json: no such file");
  EXPECT_EQ(s.ToString(), "not found: tiny/config.json: no such file");
  EXPECT_EQ(s.WithContext("loading model").message(), "loading model: tiny/config.json: no such file");
  EXPECT_EQ(Status::OK().ToString(), "OK");
}

TEST(Status, KeepsAReasonApartFromTheMessage) {
  Status s = Status::Gone(Reason("lease_expired"), "the time for this task ran out");
  EXPECT_EQ(s.code(), Status::Code::kGone);
  EXPECT_EQ(s.reason(), "lease_expired");
  EXPECT_EQ(s.message(), "the time for this task ran out");
  EXPECT_EQ(s.ToString(), "gone: the time for this task ran out");
  Status c = s.WithContext("task 3");
  EXPECT_EQ(c.message(), "task 3: the time for this task ran out");
  EXPECT_EQ(c.reason(), "lease_expired");
  EXPECT_EQ(Status::NotFound("x.json", "no such file").reason(), "");
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*Doubled(3), 6);
  Result<int> r = Doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(File, AtomicWriteReplacesAndReadsBack) {
  std::string dir = testing::ScratchDir();
  std::string path = JoinPath(dir, "a.txt");
  ASSERT_TRUE(WriteFileAtomic(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two").ok());
  EXPECT_EQ(*ReadFile(path), "two");
  auto m = MappedFile::Open(path);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*m)->data()), (*m)->size()), "two");
}

TEST(File, MissingFileIsNotFound) {
  EXPECT_EQ(ReadFile("/nonexistent/x").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(MappedFile::Open("/nonexistent/x").status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(ReadFile(testing::ScratchDir()).ok());  // a directory
  EXPECT_FALSE(WriteFileAtomic("/nonexistent/dir/x", "a").ok());
}

}  // namespace
}  // namespace tenet
