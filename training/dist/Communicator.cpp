//===- Communicator.cpp - one process, and the fixed-order reduction -----===//

#include "training/dist/Communicator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fsnn::train {

namespace {

class SingleProcess : public Communicator {
public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int localRank() const override { return 0; }
  Status exchange(int peer, const std::vector<char> &,
                  std::vector<char> &) override {
    return Status::error("a single process has no peer " +
                         std::to_string(peer));
  }
  Status any(bool &) override { return Status(); }
  Status sum(std::vector<int64_t> &) override { return Status(); }
  [[noreturn]] void abort(const std::string &message) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::exit(1);
  }
};

/// The tree of reduceInTree over leaves [begin, end).
template <typename T>
Status reduceRange(int64_t begin, int64_t end, const LeafFunction<T> &leaf,
                   const CombineFunction<T> &combine, std::vector<T> &result) {
  int64_t length = end - begin;
  if (length == 1)
    return leaf(begin, result);
  int64_t middle = length % 2 == 0 ? begin + length / 2 : end - 1;
  std::vector<T> lower, upper;
  if (Status s = reduceRange(begin, middle, leaf, combine, lower))
    return s;
  if (Status s = reduceRange(middle, end, leaf, combine, upper))
    return s;
  combine(lower, upper, result);
  return Status();
}

template <typename T>
Status reduceInTreeOf(Communicator &communicator, int64_t leaves,
                      const LeafFunction<T> &leaf,
                      const CombineFunction<T> &combine,
                      std::vector<T> &result) {
  const int n = communicator.size(), r = communicator.rank();
  if (std::string why = checkShardLayout(leaves, n); !why.empty())
    return Status::error(why);
  const int64_t perProcess = leaves / n;
  if (Status s = reduceRange<T>(r * perProcess, (r + 1) * perProcess, leaf,
                                combine, result))
    return s;
  // Recursive doubling: after level k, each process holds the node of the
  // 2^(k+1) processes around it; the lower half's value is always the left
  // operand, so both partners compute the same bits.
  std::vector<char> mine, theirs;
  std::vector<T> other, joined;
  for (int distance = 1; distance < n; distance *= 2) {
    int peer = r ^ distance;
    mine.resize(result.size() * sizeof(T));
    std::memcpy(mine.data(), result.data(), mine.size());
    if (Status s = communicator.exchange(peer, mine, theirs))
      return s;
    if (theirs.size() != mine.size())
      return Status::error("process " + std::to_string(peer) + " sent " +
                           std::to_string(theirs.size()) + " bytes, not " +
                           std::to_string(mine.size()));
    other.resize(result.size());
    std::memcpy(other.data(), theirs.data(), theirs.size());
    if (peer < r)
      combine(other, result, joined);
    else
      combine(result, other, joined);
    result.swap(joined);
  }
  return Status();
}

} // namespace

std::unique_ptr<Communicator> makeSingleProcess() {
  return std::make_unique<SingleProcess>();
}

std::string checkShardLayout(int64_t leaves, int processes) {
  if (processes < 1 || (processes & (processes - 1)) != 0)
    return std::to_string(processes) +
           " processes: data-parallel training runs on a power of two of "
           "processes (1, 2, 4, ...), so that the gradients are summed in the "
           "same order on any number";
  if (leaves < processes || leaves % processes != 0)
    return "the global batch has " + std::to_string(leaves) +
           " shards (--batch / the compiled batch), which " +
           std::to_string(processes) +
           " processes cannot share equally; make --batch a multiple of " +
           std::to_string(processes) + " x the compiled batch";
  return std::string();
}

Status reduceInTree(Communicator &communicator, int64_t leaves,
                    const LeafFunction<float> &leaf,
                    const CombineFunction<float> &combine,
                    std::vector<float> &result) {
  return reduceInTreeOf<float>(communicator, leaves, leaf, combine, result);
}

Status reduceInTree(Communicator &communicator, int64_t leaves,
                    const LeafFunction<double> &leaf,
                    const CombineFunction<double> &combine,
                    std::vector<double> &result) {
  return reduceInTreeOf<double>(communicator, leaves, leaf, combine, result);
}

} // namespace fsnn::train
