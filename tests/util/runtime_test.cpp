#include "tenet/util/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <vector>

namespace tenet {
namespace {

// The build links gperftools' tcmalloc into every executable (CMakeLists.txt, TENET_TCMALLOC); it
// must really be the malloc the dynamic linker picked, not just a library that got loaded.
TEST(Runtime, MallocIsTheOneTheBuildLinked) {
  const std::string name = MallocName();
#if defined(TENET_HAVE_TCMALLOC)
  EXPECT_EQ(name.rfind("tcmalloc (gperftools ", 0), 0u) << name;
#else
  EXPECT_EQ(name, "glibc");
#endif
}

TEST(Runtime, AllocatorServesTensorSizedBlocksAfterTuning) {
  TuneAllocator();
  TuneAllocator();  // safe twice
  // Sizes around glibc's and tcmalloc's size-class and page-heap boundaries, freed out of order.
  std::vector<void*> blocks;
  for (size_t n : {size_t{1}, size_t{4096}, size_t{256} << 10, size_t{40} << 20, size_t{64}}) {
    void* p = std::aligned_alloc(64, (n + 63) / 64 * 64);
    ASSERT_NE(p, nullptr);
    std::memset(p, 0xab, n);
    blocks.push_back(p);
  }
  for (size_t i : {3, 0, 4, 1, 2}) std::free(blocks[i]);
}

// MemAvailable from /proc/meminfo: positive and at most the machine's memory. (How it moves is
// the kernel's business: other tests allocate and free at the same time.)
TEST(Runtime, AvailableMemoryIsReadFromTheKernel) {
  const int64_t available = AvailableMemoryBytes();
  ASSERT_GT(available, 0);
  EXPECT_LE(available, static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE));
}

TEST(Runtime, ParsesByteSizes) {
  EXPECT_EQ(ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(ParseByteSize("512KB"), 512000u);
  EXPECT_EQ(ParseByteSize("1.5GiB"), 1610612736u);
  EXPECT_EQ(ParseByteSize("2MiB"), 2097152u);
  for (const char* bad : {"", "-1", "0", "12 parsecs", "MB", "3XB"}) EXPECT_EQ(ParseByteSize(bad), 0u) << bad;
}

}  // namespace
}  // namespace tenet
