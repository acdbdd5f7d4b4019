//===- Dataset.h - training and test sets for fsnn-train --------*- C++ -*-===//
//
// One interface over the datasets of docs/method.md §5: Fashion-MNIST and MNIST
// (IDX), CIFAR-10/100 (binary batches) and N-MNIST (event files binned into
// spike frames). A sample is produced on demand as the model's input: the
// normalised image, or T frames of 0/1 spikes, so that N-MNIST's frames never
// have to sit in memory densely.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TRAINING_DATA_DATASET_H
#define FSNN_TRAINING_DATA_DATASET_H

#include "runtime/model/Model.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fsnn::data {

using fsnn::model::Status;

/// Per-sample randomness for augmentation, derived from (seed, epoch, index)
/// so that a resumed run draws the same crops and flips.
uint64_t augmentationKey(uint64_t seed, int64_t epoch, int64_t index);

class Dataset {
public:
  virtual ~Dataset() = default;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t label(int64_t index) const { return labels[index]; }
  int64_t classes() const { return numClasses; }
  /// Per-sample input elements (C*H*W, or T*C*H*W for spike frames).
  int64_t sampleElements() const { return elements; }
  /// Writes sample `index` into out[0 .. sampleElements()). With a non-zero
  /// `augmentKey` (training only), applies the dataset's augmentation.
  virtual void fill(int64_t index, float *out, uint64_t augmentKey) const = 0;
  /// Whether the dataset augments training samples (CIFAR crop and flip).
  virtual bool augments() const { return false; }

protected:
  std::vector<int64_t> labels;
  int64_t numClasses = 0;
  int64_t elements = 0;
};

/// Images of bytes, normalised per channel: (p / 255 - mean[c]) / std[c].
/// With `cropPad` > 0, training samples are randomly cropped from the image
/// zero-padded (in normalised space, as torchvision pads before ToTensor:
/// padding pixels are 0 before normalisation) by cropPad on each side and
/// flipped horizontally with probability 1/2.
class ImageDataset : public Dataset {
public:
  ImageDataset(std::vector<uint8_t> pixels, std::vector<int64_t> labels,
               int64_t classes, int64_t channels, int64_t height, int64_t width,
               std::vector<double> mean, std::vector<double> std,
               int64_t cropPad);
  void fill(int64_t index, float *out, uint64_t augmentKey) const override;
  bool augments() const override { return cropPad > 0; }

private:
  std::vector<uint8_t> pixels;
  int64_t channels, height, width, cropPad;
  std::vector<double> mean, std;
};

/// N-MNIST events binned into frames of 2 polarities x 34 x 34 (docs/method.md
/// §5.3): an event at t µs has bin ceil(t / binMicros); frame k (0-based)
/// holds the events of bin k + 1 for bins 1..T-1, so the last frame is empty.
class EventDataset : public Dataset {
public:
  struct Event {
    uint8_t x, y, polarity;
    uint32_t micros;
  };
  EventDataset(std::vector<std::vector<Event>> samples,
               std::vector<int64_t> labels, int64_t timeSteps,
               int64_t binMicros);
  void fill(int64_t index, float *out, uint64_t augmentKey) const override;

private:
  /// Per sample, the flat indices (frame, polarity, y, x) of its spikes.
  std::vector<std::vector<uint32_t>> spikes;
  int64_t timeSteps;
};

enum class Split { Train, Test };

struct DatasetOptions {
  /// fashion-mnist, mnist, cifar10, cifar100 or nmnist.
  std::string name;
  std::string directory;
  Split split = Split::Train;
  /// N-MNIST: frames per sample and the bin width (3 ms).
  int64_t timeSteps = 30;
  int64_t binMicros = 3000;
  /// Load at most this many samples (0: all), in file order.
  int64_t limit = 0;
};

/// The dataset names loadDataset accepts.
const std::vector<std::string> &datasetNames();

/// Loads a dataset from the files its distribution uses:
/// - fashion-mnist, mnist: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz],
///   normalised with the MNIST constants (docs/method.md §5.1/§5.2);
/// - cifar10: data_batch_{1..5}.bin / test_batch.bin, cifar100: train.bin /
///   test.bin (fine labels), in DIR or DIR/cifar-{10,100}-batches-bin;
///   training samples are cropped (pad 4) and flipped (docs/method.md §5.4);
/// - nmnist: DIR/{Train,Test}/<digit>/*.bin, the dataset's 40-bit events.
/// Every malformed file is reported with its path and what is wrong.
Status loadDataset(const DatasetOptions &options,
                   std::unique_ptr<Dataset> &dataset);

/// Parses one N-MNIST event file (5 bytes per event: x, y, polarity bit and
/// a 23-bit timestamp in µs).
Status loadEventFile(const std::string &path,
                     std::vector<EventDataset::Event> &events);

} // namespace fsnn::data

#endif // FSNN_TRAINING_DATA_DATASET_H
