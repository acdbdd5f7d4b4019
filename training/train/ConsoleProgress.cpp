//===- ConsoleProgress.cpp - training progress for people -----------------===//

#include "training/train/ConsoleProgress.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace fsnn::train {

std::string formatDuration(double seconds) {
  int64_t s = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  std::ostringstream os;
  if (s >= 3600)
    os << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60
       << ":" << std::setw(2) << s % 60;
  else if (s >= 60)
    os << s / 60 << ":" << std::setw(2) << std::setfill('0') << s % 60;
  else
    os << s << "s";
  return os.str();
}

ConsoleProgress::ConsoleProgress(std::ostream &status, std::ostream &results,
                                 ConsoleProgressOptions options)
    : status(status), results(results), options(options),
      start(std::chrono::steady_clock::now()), lastPlain(start) {}

Progress ConsoleProgress::callbacks() {
  Progress progress;
  progress.step = [this](int64_t epoch, int64_t done, int64_t total,
                         double loss, double accuracy, double rate) {
    step(epoch, done, total, loss, accuracy, rate);
  };
  progress.epoch = [this](const EpochReport &report) { epochDone(report); };
  progress.warn = [this](const std::string &message) { warn(message); };
  return progress;
}

void ConsoleProgress::step(int64_t epoch, int64_t done, int64_t total,
                           double loss, double accuracy,
                           double imagesPerSecond) {
  ++stepsThisRun;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start).count();
  // The steps left in this run, at this run's pace so far (evaluation time
  // between epochs is not in it).
  int64_t epochsAfter = std::max<int64_t>(options.epochs - epoch - 1, 0);
  int64_t stepsLeft = (total - done) + epochsAfter * total;
  double eta = elapsed / double(stepsThisRun) * double(stepsLeft);

  std::ostringstream figures;
  figures << "step " << done << "/" << total << ", loss " << std::fixed
          << std::setprecision(4) << loss << ", accuracy "
          << std::setprecision(2) << 100 * accuracy << "%, "
          << std::setprecision(0) << imagesPerSecond << " images/s, ETA "
          << formatDuration(eta);
  std::string epochText = "epoch " + std::to_string(epoch + 1) + "/" +
                          std::to_string(options.epochs);
  if (options.terminal) {
    const int width = 20;
    int filled = total ? int(width * done / total) : width;
    status << "\r" << epochText << " [" << std::string(filled, '=')
           << std::string(width - filled, ' ') << "] " << figures.str()
           << "   ";
    status.flush();
    lineOpen = true;
    return;
  }
  if (std::chrono::duration<double>(now - lastPlain).count() <
      options.plainInterval)
    return;
  lastPlain = now;
  status << "progress: " << epochText << ", " << figures.str() << std::endl;
}

void ConsoleProgress::epochDone(const EpochReport &e) {
  if (lineOpen) {
    status << "\n";
    lineOpen = false;
  }
  results << "epoch " << e.epoch + 1 << "/" << options.epochs << ": train loss "
          << e.trainLoss << ", train accuracy " << 100 * e.trainAccuracy << "%";
  if (e.testAccuracy >= 0)
    results << ", test accuracy " << 100 * e.testAccuracy << "%";
  results << ", " << e.seconds << " s (" << e.imagesPerSecond << " images/s)"
          << std::endl;
}

void ConsoleProgress::warn(const std::string &message) {
  if (lineOpen) {
    status << "\n";
    lineOpen = false;
  }
  status << "fsnn-train: warning: " << message << std::endl;
}

} // namespace fsnn::train
