//===- Dataset.cpp - training and test sets for fsnn-train ----------------===//

#include "training/data/Dataset.h"
#include "training/data/Idx.h"

#include "fsnnrt/hash.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fsnn::data {

namespace fs = std::filesystem;

namespace {

/// splitmix64 as a generator: advances `state`, returns its next output.
uint64_t splitmix64(uint64_t &state) {
  return fsnn_mix64(state += FSNN_GOLDEN_GAMMA);
}

/// Whole-file reads are bounded: no dataset file of ours is near 1 GiB.
constexpr uintmax_t kMaxFileBytes = uintmax_t(1) << 30;

Status readFile(const std::string &path, std::string &bytes) {
  std::error_code error;
  uintmax_t size = fs::file_size(path, error);
  if (error)
    return Status::error(path + ": cannot open: " + error.message());
  if (size > kMaxFileBytes)
    return Status::error(path + ": larger than 1 GiB; not a dataset file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  bytes.resize(size);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
    return Status::error(path + ": read error");
  return Status();
}

std::string firstExisting(const std::vector<std::string> &candidates) {
  for (const std::string &path : candidates)
    if (fs::exists(path))
      return path;
  return candidates.front();
}

Status loadMnistFamily(const DatasetOptions &options,
                       std::unique_ptr<Dataset> &dataset) {
  std::string prefix =
      options.directory + (options.split == Split::Train ? "/train" : "/t10k");
  std::string images = firstExisting(
      {prefix + "-images-idx3-ubyte.gz", prefix + "-images-idx3-ubyte"});
  std::string labelsPath = firstExisting(
      {prefix + "-labels-idx1-ubyte.gz", prefix + "-labels-idx1-ubyte"});
  IdxArray array;
  std::vector<int64_t> labels;
  if (Status s = loadImagesAndLabels(images, labelsPath, array, labels, 10))
    return s;
  if (array.dims.size() != 3)
    return Status::error(images + ": expected images of rank 3, got rank " +
                         std::to_string(array.dims.size()));
  int64_t count = array.items();
  if (options.limit > 0 && options.limit < count) {
    count = options.limit;
    array.data.resize(static_cast<size_t>(count * array.itemSize()));
    labels.resize(static_cast<size_t>(count));
  }
  dataset = std::make_unique<ImageDataset>(
      std::move(array.data), std::move(labels), 10, 1, array.dims[1],
      array.dims[2], std::vector<double>{0.1307}, std::vector<double>{0.3081},
      0);
  return Status();
}

Status loadCifar(const DatasetOptions &options, bool hundred,
                 std::unique_ptr<Dataset> &dataset) {
  std::string dir = options.directory;
  std::string nested =
      dir + (hundred ? "/cifar-100-binary" : "/cifar-10-batches-bin");
  std::vector<std::string> names;
  if (hundred)
    names = {options.split == Split::Train ? "train.bin" : "test.bin"};
  else if (options.split == Split::Train)
    names = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
             "data_batch_4.bin", "data_batch_5.bin"};
  else
    names = {"test_batch.bin"};
  const int64_t imageBytes = 3 * 32 * 32;
  const int64_t labelBytes = hundred ? 2 : 1;
  const int64_t record = labelBytes + imageBytes;
  const int64_t classes = hundred ? 100 : 10;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (const std::string &name : names) {
    std::string path = firstExisting({dir + "/" + name, nested + "/" + name});
    std::string bytes;
    if (Status s = readFile(path, bytes))
      return s;
    if (bytes.empty() || bytes.size() % record != 0)
      return Status::error(path + ": " + std::to_string(bytes.size()) +
                           " bytes is not a whole number of CIFAR-" +
                           std::to_string(classes) + " records of " +
                           std::to_string(record) + " bytes");
    int64_t records = static_cast<int64_t>(bytes.size()) / record;
    for (int64_t r = 0; r < records; ++r) {
      const auto *p =
          reinterpret_cast<const uint8_t *>(bytes.data()) + r * record;
      int64_t label = p[labelBytes - 1]; // CIFAR-100: the fine label
      if (label >= classes)
        return Status::error(path + ": record " + std::to_string(r) +
                             " has label " + std::to_string(label) +
                             ", not below " + std::to_string(classes));
      labels.push_back(label);
      pixels.insert(pixels.end(), p + labelBytes, p + record);
      if (options.limit > 0 && int64_t(labels.size()) >= options.limit)
        break;
    }
    if (options.limit > 0 && int64_t(labels.size()) >= options.limit)
      break;
  }
  dataset = std::make_unique<ImageDataset>(
      std::move(pixels), std::move(labels), classes, 3, 32, 32,
      std::vector<double>{0.4914, 0.4822, 0.4465},
      std::vector<double>{0.2023, 0.1994, 0.2010},
      options.split == Split::Train ? 4 : 0);
  return Status();
}

Status loadNmnist(const DatasetOptions &options,
                  std::unique_ptr<Dataset> &dataset) {
  if (options.timeSteps < 1 || options.timeSteps > 100000)
    return Status::error("N-MNIST time steps must be in [1, 100000], got " +
                         std::to_string(options.timeSteps));
  if (options.binMicros < 1)
    return Status::error("N-MNIST bin width must be positive");
  std::string root =
      options.directory + (options.split == Split::Train ? "/Train" : "/Test");
  if (!fs::is_directory(root))
    return Status::error(root + ": no such directory (N-MNIST expects "
                                "DIR/Train/<digit>/*.bin and DIR/Test/...)");
  std::vector<std::vector<EventDataset::Event>> samples;
  std::vector<int64_t> labels;
  for (int digit = 0; digit < 10; ++digit) {
    std::string dir = root + "/" + std::to_string(digit);
    if (!fs::is_directory(dir))
      return Status::error(dir + ": no such directory");
    std::vector<std::string> files;
    for (const auto &entry : fs::directory_iterator(dir))
      if (entry.is_regular_file() && entry.path().extension() == ".bin")
        files.push_back(entry.path().string());
    // Directory order is arbitrary; sorting keeps runs reproducible.
    std::sort(files.begin(), files.end());
    for (const std::string &file : files) {
      std::vector<EventDataset::Event> events;
      if (Status s = loadEventFile(file, events))
        return s;
      samples.push_back(std::move(events));
      labels.push_back(digit);
    }
  }
  if (samples.empty())
    return Status::error(root + ": no .bin event files");
  if (options.limit > 0 && int64_t(samples.size()) > options.limit) {
    // Interleave the digits so that a limited set still has every class.
    std::vector<size_t> order(samples.size()), rank(samples.size());
    for (size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
      rank[i] = i > 0 && labels[i - 1] == labels[i] ? rank[i - 1] + 1 : 0;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return rank[a] < rank[b]; });
    std::vector<std::vector<EventDataset::Event>> kept;
    std::vector<int64_t> keptLabels;
    for (int64_t i = 0; i < options.limit; ++i) {
      kept.push_back(std::move(samples[order[i]]));
      keptLabels.push_back(labels[order[i]]);
    }
    samples = std::move(kept);
    labels = std::move(keptLabels);
  }
  dataset =
      std::make_unique<EventDataset>(std::move(samples), std::move(labels),
                                     options.timeSteps, options.binMicros);
  return Status();
}

} // namespace

uint64_t augmentationKey(uint64_t seed, int64_t epoch, int64_t index) {
  uint64_t state = seed ^ (uint64_t(epoch) * FSNN_GOLDEN_GAMMA);
  splitmix64(state);
  state ^= uint64_t(index) * 0xd1b54a32d192ed03ULL;
  uint64_t key = splitmix64(state);
  return key ? key : 1;
}

ImageDataset::ImageDataset(std::vector<uint8_t> pixels,
                           std::vector<int64_t> labels, int64_t classes,
                           int64_t channels, int64_t height, int64_t width,
                           std::vector<double> mean, std::vector<double> std,
                           int64_t cropPad)
    : pixels(std::move(pixels)), channels(channels), height(height),
      width(width), cropPad(cropPad), mean(std::move(mean)),
      std(std::move(std)) {
  this->labels = std::move(labels);
  numClasses = classes;
  elements = channels * height * width;
}

void ImageDataset::fill(int64_t index, float *out, uint64_t augmentKey) const {
  const uint8_t *image = pixels.data() + index * elements;
  int64_t dy = 0, dx = 0;
  bool flip = false;
  if (augmentKey && cropPad > 0) {
    uint64_t state = augmentKey;
    uint64_t r = splitmix64(state);
    int64_t span = 2 * cropPad + 1;
    dy = int64_t(r % uint64_t(span)) - cropPad;
    dx = int64_t((r >> 20) % uint64_t(span)) - cropPad;
    flip = (r >> 40) & 1;
  }
  for (int64_t c = 0; c < channels; ++c) {
    double scale = 1.0 / (255.0 * std[c]);
    double shift = -mean[c] / std[c];
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        int64_t sy = y + dy;
        int64_t sx = (flip ? width - 1 - x : x) + dx;
        double p = 0;
        if (sy >= 0 && sy < height && sx >= 0 && sx < width)
          p = image[(c * height + sy) * width + sx];
        out[(c * height + y) * width + x] =
            static_cast<float>(p * scale + shift);
      }
  }
}

EventDataset::EventDataset(std::vector<std::vector<Event>> samples,
                           std::vector<int64_t> labels, int64_t timeSteps,
                           int64_t binMicros)
    : timeSteps(timeSteps) {
  this->labels = std::move(labels);
  numClasses = 10;
  const int64_t frame = 2 * 34 * 34;
  elements = timeSteps * frame;
  spikes.resize(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    std::vector<uint32_t> &flat = spikes[i];
    for (const Event &e : samples[i]) {
      int64_t bin = (int64_t(e.micros) + binMicros - 1) / binMicros;
      if (bin < 1 || bin > timeSteps - 1)
        continue;
      flat.push_back(static_cast<uint32_t>(
          (bin - 1) * frame + (int64_t(e.polarity) * 34 + e.y) * 34 + e.x));
    }
    std::sort(flat.begin(), flat.end());
    flat.erase(std::unique(flat.begin(), flat.end()), flat.end());
    samples[i].clear();
    samples[i].shrink_to_fit();
  }
}

void EventDataset::fill(int64_t index, float *out, uint64_t) const {
  std::fill(out, out + elements, 0.0f);
  for (uint32_t flat : spikes[index])
    out[flat] = 1.0f;
}

Status loadEventFile(const std::string &path,
                     std::vector<EventDataset::Event> &events) {
  std::string bytes;
  if (Status s = readFile(path, bytes))
    return s;
  if (bytes.size() % 5 != 0)
    return Status::error(path + ": " + std::to_string(bytes.size()) +
                         " bytes is not a whole number of 5-byte N-MNIST "
                         "events");
  events.clear();
  events.reserve(bytes.size() / 5);
  for (size_t i = 0; i < bytes.size(); i += 5) {
    const auto *p = reinterpret_cast<const uint8_t *>(bytes.data()) + i;
    EventDataset::Event e;
    e.x = p[0];
    e.y = p[1];
    e.polarity = p[2] >> 7;
    e.micros = (uint32_t(p[2] & 0x7f) << 16) | (uint32_t(p[3]) << 8) | p[4];
    if (e.x >= 34 || e.y >= 34)
      return Status::error(path + ": event " + std::to_string(i / 5) + " at (" +
                           std::to_string(e.x) + ", " + std::to_string(e.y) +
                           ") is outside the 34 x 34 sensor");
    events.push_back(e);
  }
  return Status();
}

const std::vector<std::string> &datasetNames() {
  static const std::vector<std::string> names = {
      "fashion-mnist", "mnist", "cifar10", "cifar100", "nmnist"};
  return names;
}

Status loadDataset(const DatasetOptions &options,
                   std::unique_ptr<Dataset> &dataset) {
  if (options.directory.empty())
    return Status::error("no data directory given");
  if (!fs::is_directory(options.directory))
    return Status::error(options.directory + ": no such directory");
  if (options.name == "fashion-mnist" || options.name == "mnist")
    return loadMnistFamily(options, dataset);
  if (options.name == "cifar10")
    return loadCifar(options, false, dataset);
  if (options.name == "cifar100")
    return loadCifar(options, true, dataset);
  if (options.name == "nmnist")
    return loadNmnist(options, dataset);
  std::ostringstream known;
  for (const std::string &n : datasetNames())
    known << " " << n;
  return Status::error("unknown dataset '" + options.name +
                       "'; known:" + known.str());
}

} // namespace fsnn::data
