//===- NirFuzzer.cpp - libFuzzer target: NIR files ------------------------===//
//
// What fsnn-model import-nir reads. An input starting with 'T' is the wire
// form between the HDF5 child and the parent (decodeTree), fed straight to
// the importer: the importer meets arbitrary trees at full speed. Any other
// input is written to a file and read as fsnn-model reads it, through the
// child process. Either way the tree is imported and, when that succeeds,
// validated and exported again. A crash, a sanitizer report, an accepted
// model that does not validate or a refusal without a message is a bug.
//
//===----------------------------------------------------------------------===//

#include "runtime/nir/Nir.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

void check(const fsnn::model::Status &status, const char *what) {
  if (!status.ok() && status.message().empty()) {
    std::fprintf(stderr, "%s refused without a message\n", what);
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  fsnn::nir::Item root;
  fsnn::model::Status status;
  if (data[0] == 'T') {
    status = fsnn::nir::decodeTree(
        std::string_view(reinterpret_cast<const char *>(data) + 1, size - 1),
        root);
    check(status, "decodeTree");
  } else {
    static const std::string path =
        "/tmp/fsnn-nir-fuzz-" + std::to_string(::getpid()) + ".nir";
    FILE *file = std::fopen(path.c_str(), "wb");
    if (!file)
      return 0;
    std::fwrite(data, 1, size, file);
    std::fclose(file);
    status = fsnn::nir::readNirFile(path, root);
    check(status, "readNirFile");
    if (status.ok()) {
      fsnn::nir::Item again;
      if (fsnn::nir::decodeTree(fsnn::nir::encodeTree(root), again)) {
        std::fprintf(stderr, "a tree read does not decode after encoding\n");
        std::abort();
      }
    }
  }
  if (!status.ok())
    return 0;
  fsnn::nir::ImportOptions options;
  options.timeSteps = 3;
  fsnn::model::ModelProto model;
  fsnn::model::ModelInfo imported;
  std::vector<std::string> notes;
  status = fsnn::nir::importNir(root, options, model, imported, notes);
  check(status, "importNir");
  if (!status.ok())
    return 0;
  fsnn::model::ModelInfo info;
  if (fsnn::model::Status s = fsnn::model::validateModel(model, info)) {
    std::fprintf(stderr, "an imported model that does not validate: %s\n",
                 s.message().c_str());
    std::abort();
  }
  fsnn::nir::Item exported;
  check(fsnn::nir::exportNir(model, info, {}, exported, notes), "exportNir");
  return 0;
}
