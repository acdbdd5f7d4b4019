//===- ConsoleProgress.h - training progress for people -------*- C++ -*-===//
//
// What fsnn-train shows while it trains: on a terminal, one redrawn line
// ("epoch 3/100 [====    ] step 120/469, loss, accuracy, images/s, ETA");
// in a log (stderr not a terminal), the same figures as a plain line every
// `plainInterval` seconds, so a piped or batch-job run is not silent for a
// whole epoch. Each epoch ends with one line on stdout either way.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TRAINING_TRAIN_CONSOLEPROGRESS_H
#define FSNN_TRAINING_TRAIN_CONSOLEPROGRESS_H

#include "training/train/Trainer.h"

#include <chrono>
#include <ostream>

namespace fsnn::train {

struct ConsoleProgressOptions {
  int64_t epochs = 1;
  /// Redraw one line (a terminal) or print plain lines (a log).
  bool terminal = false;
  double plainInterval = 30;
};

/// "1:02:03", "4:05" or "7s".
std::string formatDuration(double seconds);

class ConsoleProgress {
public:
  ConsoleProgress(std::ostream &status, std::ostream &results,
                  ConsoleProgressOptions options);
  /// The callbacks for train(); they refer to this object.
  Progress callbacks();

private:
  void step(int64_t epoch, int64_t done, int64_t total, double loss,
            double accuracy, double imagesPerSecond);
  void epochDone(const EpochReport &report);
  void warn(const std::string &message);

  std::ostream &status, &results;
  ConsoleProgressOptions options;
  std::chrono::steady_clock::time_point start, lastPlain;
  int64_t stepsThisRun = 0;
  bool lineOpen = false;
};

} // namespace fsnn::train

#endif // FSNN_TRAINING_TRAIN_CONSOLEPROGRESS_H
