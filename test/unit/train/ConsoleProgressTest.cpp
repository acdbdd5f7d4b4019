//===- ConsoleProgressTest.cpp - what fsnn-train prints while it trains ---===//

#include "training/train/ConsoleProgress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

using namespace fsnn::train;

TEST(ConsoleProgress, FormatsDurations) {
  EXPECT_EQ(formatDuration(7.4), "7s");
  EXPECT_EQ(formatDuration(245), "4:05");
  EXPECT_EQ(formatDuration(3723), "1:02:03");
  EXPECT_EQ(formatDuration(-1), "0s");
}

TEST(ConsoleProgress, PlainLinesInALog) {
  std::ostringstream status, results;
  ConsoleProgressOptions options;
  options.epochs = 3;
  options.terminal = false;
  options.plainInterval = 0; // every step
  ConsoleProgress console(status, results, options);
  Progress progress = console.callbacks();
  progress.step(1, 5, 10, 0.5, 0.75, 1000);
  std::string line = status.str();
  EXPECT_EQ(line.rfind("progress: epoch 2/3, step 5/10, loss 0.5000, "
                       "accuracy 75.00%, 1000 images/s, ETA ",
                       0),
            0u)
      << line;
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.back(), '\n');

  EpochReport report;
  report.epoch = 1;
  report.testAccuracy = 0.5;
  progress.epoch(report);
  EXPECT_EQ(results.str().rfind("epoch 2/3: train loss", 0), 0u)
      << results.str();
}

TEST(ConsoleProgress, QuietBetweenPlainLines) {
  std::ostringstream status, results;
  ConsoleProgressOptions options;
  options.terminal = false;
  options.plainInterval = 3600;
  ConsoleProgress console(status, results, options);
  Progress progress = console.callbacks();
  for (int k = 1; k <= 100; ++k)
    progress.step(0, k, 100, 1.0, 0.1, 10);
  EXPECT_EQ(status.str(), "");
}

TEST(ConsoleProgress, RedrawsOneLineOnATerminal) {
  std::ostringstream status, results;
  ConsoleProgressOptions options;
  options.epochs = 1;
  options.terminal = true;
  ConsoleProgress console(status, results, options);
  Progress progress = console.callbacks();
  progress.step(0, 1, 4, 1.0, 0.1, 10);
  progress.step(0, 4, 4, 1.0, 0.1, 10);
  std::string text = status.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 2);
  EXPECT_NE(text.find("epoch 1/1 [====="), std::string::npos) << text;
  EXPECT_NE(text.find("ETA 0s"), std::string::npos) << text;
  progress.warn("careful");
  EXPECT_NE(status.str().find("\nfsnn-train: warning: careful\n"),
            std::string::npos);
}
