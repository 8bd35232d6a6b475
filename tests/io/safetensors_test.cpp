// safetensors reader/writer: round trips, zero-copy, and every kind of damaged file.
#include "tenet/io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "tenet/io/hf_folder.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;

// Builds a raw safetensors file from a header object and a data buffer.
std::string RawFile(const json& header, const std::string& data, int64_t header_len_override = -1) {
  std::string h = header.dump();
  uint64_t n = header_len_override >= 0 ? static_cast<uint64_t>(header_len_override) : h.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + h + data;
}

std::string WriteRaw(const std::string& name, const std::string& bytes) {
  std::string path = JoinPath(testing::ScratchDir(), name);
  EXPECT_TRUE(WriteFileAtomic(path, bytes).ok());
  return path;
}

// Opens raw bytes and expects a failure whose message contains `needle`.
void ExpectOpenFails(const std::string& bytes, const std::string& needle) {
  std::string path = WriteRaw("bad.safetensors", bytes);
  auto f = SafetensorsFile::Open(path);
  ASSERT_FALSE(f.ok()) << "expected failure containing: " << needle;
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().ToString();
  EXPECT_NE(f.status().message().find(path), std::string::npos) << "error must name the file: " << f.status().ToString();
}

TEST(Safetensors, RoundTripsEveryDtype) {
  std::string path = JoinPath(testing::ScratchDir(), "all.safetensors");
  NamedTensors in;
  for (auto dt : {torch::kFloat32, torch::kBFloat16, torch::kFloat16, torch::kFloat64, torch::kInt64, torch::kInt32,
                  torch::kInt16, torch::kInt8, torch::kUInt8, torch::kBool}) {
    in.emplace_back(std::string("t_") + c10::toString(dt), (torch::arange(12) % 7).to(dt).reshape({3, 4}));
  }
  in.emplace_back("scalar", torch::tensor(3.5f).reshape({}));
  in.emplace_back("empty", torch::zeros({0, 5}));
  ASSERT_TRUE(SaveSafetensors(path, in, {{"format", "pt"}, {"note", "x"}}).ok());
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->metadata().at("note"), "x");
  ASSERT_EQ((*f)->tensors().size(), in.size());
  for (const auto& [name, t] : in) {
    const TensorInfo* info = (*f)->Find(name);
    ASSERT_NE(info, nullptr) << name;
    torch::Tensor got = (*f)->Get(*info);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(got, t)) << name;
  }
}

TEST(Safetensors, AlignedTensorsAreZeroCopyAndCopyOnWrite) {
  std::string path = JoinPath(testing::ScratchDir(), "w.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, {{"a", torch::ones({4, 4})}, {"b", torch::zeros({3})}}).ok());
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok());
  torch::Tensor a = (*f)->Get(*(*f)->Find("a"));
  torch::Tensor a2 = (*f)->Get(*(*f)->Find("a"));
  EXPECT_EQ(a.data_ptr(), a2.data_ptr()) << "expected both views over the same mapping";
  a.mul_(2);  // must neither crash (read-only map) nor change the file
  auto again = SafetensorsFile::Open(path);
  EXPECT_TRUE(torch::equal((*again)->Get(*(*again)->Find("a")), torch::ones({4, 4})));
}

TEST(Safetensors, MisalignedDataIsCopied) {
  // A 1-byte u8 tensor first makes the f32 tensor start at an odd offset.
  float v[2] = {1.5f, -2.0f};
  std::string data(1, '\x07');
  data.append(reinterpret_cast<const char*>(v), sizeof(v));
  json h = {{"a", {{"dtype", "U8"}, {"shape", {1}}, {"data_offsets", {0, 1}}}},
            {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {1, 9}}}}};
  // Pad the header to 8 bytes so that the buffer is aligned and `b` (at offset 1) is not.
  std::string hs = h.dump();
  hs.append((8 - hs.size() % 8) % 8, ' ');
  std::string raw = RawFile(json::object(), "", static_cast<int64_t>(hs.size())).substr(0, 8) + hs + data;
  auto f = SafetensorsFile::Open(WriteRaw("mis.safetensors", raw));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  torch::Tensor b = (*f)->Get(*(*f)->Find("b"));
  EXPECT_FLOAT_EQ(b[0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(b[1].item<float>(), -2.0f);
}

TEST(Safetensors, MissingFile) {
  auto f = SafetensorsFile::Open("/nonexistent/model.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Status::Code::kNotFound);
}

TEST(Safetensors, RejectsTruncatedLengthPrefix) { ExpectOpenFails("abc", "truncated"); }

TEST(Safetensors, RejectsHeaderPastEndOfFile) {
  json h = {{"a", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4}}}}};
  ExpectOpenFails(RawFile(h, std::string(4, '\0'), 1000), "runs past the end");
}

TEST(Safetensors, RejectsOversizedHeader) {
  ExpectOpenFails(RawFile(json::object(), "", 200'000'000), "exceeds");
}

TEST(Safetensors, RejectsNonJsonHeader) {
  std::string raw = RawFile(json::object(), "");
  raw = raw.substr(0, 8);
  std::string garbage = "{not json";
  uint64_t n = garbage.size();
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  ExpectOpenFails(raw + garbage, "not valid JSON");
  raw[0] = 2;
  ExpectOpenFails(raw.substr(0, 8) + "[]", "not a JSON object");
}

TEST(Safetensors, RejectsUnknownDtype) {
  json h = {{"a", {{"dtype", "F8_E4M3"}, {"shape", {1}}, {"data_offsets", {0, 1}}}}};
  ExpectOpenFails(RawFile(h, std::string(1, '\0')), "F8_E4M3");
}

TEST(Safetensors, RejectsOffsetsOutOfRange) {
  json h = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}}};
  ExpectOpenFails(RawFile(h, std::string(8, '\0')), "out of range");
}

TEST(Safetensors, RejectsShapeThatDisagreesWithOffsets) {
  json h = {{"a", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 16}}}}};
  ExpectOpenFails(RawFile(h, std::string(16, '\0')), "shape needs 12 bytes");
}

TEST(Safetensors, RejectsOverlappingTensors) {
  json h = {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
            {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}}}};
  ExpectOpenFails(RawFile(h, std::string(12, '\0')), "overlap");
}

TEST(Safetensors, RejectsGapsAndTrailingBytes) {
  json gap = {{"a", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {4, 8}}}}};
  ExpectOpenFails(RawFile(gap, std::string(8, '\0')), "gap");
  json trailing = {{"a", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4}}}}};
  ExpectOpenFails(RawFile(trailing, std::string(9, '\0')), "trailing");
}

TEST(Safetensors, RejectsMalformedEntries) {
  ExpectOpenFails(RawFile({{"a", {{"dtype", "F32"}}}}, ""), "needs dtype, shape and data_offsets");
  ExpectOpenFails(RawFile({{"a", {{"dtype", "F32"}, {"shape", {-1}}, {"data_offsets", {0, 0}}}}}, ""), "non-negative");
  ExpectOpenFails(RawFile({{"a", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {4, 0}}}}}, std::string(4, '\0')),
                  "begin > end");
  ExpectOpenFails(RawFile({{"a", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0}}}}}, ""), "data_offsets");
  ExpectOpenFails(RawFile({{"__metadata__", {{"k", 1}}}}, ""), "must be a string");
}

TEST(Safetensors, WriterRejectsDuplicateNamesAndKeepsOldFile) {
  std::string path = JoinPath(testing::ScratchDir(), "keep.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, {{"a", torch::ones({2})}}).ok());
  Status s = SaveSafetensors(path, {{"x", torch::ones({1})}, {"x", torch::ones({1})}});
  EXPECT_FALSE(s.ok());
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok());
  EXPECT_NE((*f)->Find("a"), nullptr);
}

// ------------------------------------------------------------------ sharded folders
NamedTensors SomeTensors() {
  NamedTensors t;
  for (int i = 0; i < 6; ++i) t.emplace_back("w" + std::to_string(i), torch::full({256}, static_cast<float>(i)));
  return t;
}

TEST(HfFolder, ShardsRoundTrip) {
  std::string dir = testing::ScratchDir();
  ASSERT_TRUE(SaveWeights(dir, SomeTensors(), 2048).ok());  // 1 KiB each -> 3 shards
  EXPECT_TRUE(FileExists(JoinPath(dir, "model.safetensors.index.json")));
  EXPECT_TRUE(FileExists(JoinPath(dir, "model-00003-of-00003.safetensors")));
  EXPECT_FALSE(FileExists(JoinPath(dir, "model.safetensors")));
  auto store = TensorStore::OpenDir(dir);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->names().size(), 6u);
  EXPECT_EQ((*store)->Get("w4")->sum().item<float>(), 4.0f * 256);
  EXPECT_EQ((*store)->Get("nope").status().code(), Status::Code::kNotFound);
  // Saving again unsharded removes the shards.
  ASSERT_TRUE(SaveWeights(dir, SomeTensors()).ok());
  EXPECT_FALSE(FileExists(JoinPath(dir, "model-00001-of-00003.safetensors")));
  EXPECT_TRUE(TensorStore::OpenDir(dir).ok());
}

TEST(HfFolder, RejectsBadIndexes) {
  std::string dir = testing::ScratchDir();
  ASSERT_TRUE(SaveWeights(dir, SomeTensors(), 2048).ok());
  const std::string index = JoinPath(dir, "model.safetensors.index.json");
  auto with_map = [&](const json& map) {
    EXPECT_TRUE(WriteFileAtomic(index, json{{"weight_map", map}}.dump()).ok());
    return TensorStore::OpenDir(dir);
  };
  auto r = with_map({{"w0", "model-00009-of-00009.safetensors"}});
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound) << r.status().ToString();
  r = with_map({{"w0", "model-00002-of-00003.safetensors"}});  // w0 lives in shard 1
  EXPECT_NE(r.status().message().find("does not contain"), std::string::npos) << r.status().ToString();
  r = with_map({{"w0", "../x.safetensors"}});
  EXPECT_NE(r.status().message().find("outside the folder"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(WriteFileAtomic(index, "{").ok());
  EXPECT_EQ(TensorStore::OpenDir(dir).status().code(), Status::Code::kCorruption);
}

TEST(HfFolder, RejectsTensorInTwoShards) {
  std::string dir = testing::ScratchDir();
  ASSERT_TRUE(SaveSafetensors(JoinPath(dir, "a.safetensors"), {{"w", torch::ones({2})}}).ok());
  ASSERT_TRUE(SaveSafetensors(JoinPath(dir, "b.safetensors"), {{"w", torch::ones({2})}, {"v", torch::ones({2})}}).ok());
  json map = {{"w", "a.safetensors"}, {"v", "b.safetensors"}};
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "model.safetensors.index.json"), json{{"weight_map", map}}.dump()).ok());
  auto r = TensorStore::OpenDir(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("also appears"), std::string::npos) << r.status().ToString();
}

TEST(HfFolder, MissingWeightsNameTheProblem) {
  std::string dir = testing::ScratchDir();
  auto r = TensorStore::OpenDir(dir);
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "pytorch_model.bin"), "x").ok());
  r = TensorStore::OpenDir(dir);
  EXPECT_NE(r.status().message().find("pytorch_model.bin"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(TensorStore::OpenDir("/nonexistent/dir").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace tenet
