//===- Communicator.h - the processes of a data-parallel job ----*- C++ -*-===//
//
// What data-parallel training needs from the processes of a job: who am I,
// how many are we, a pairwise exchange for the reductions whose order is
// fixed (reduceInTree), and agreement on a flag and on integer sums. One
// process needs none of it; Open MPI provides it across processes and
// machines (MpiCommunicator.cpp, built when libopenmpi-dev is present).
// Runtime side of the wall: no LLVM or MLIR, and no MPI in this header.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TRAINING_DIST_COMMUNICATOR_H
#define FSNN_TRAINING_DIST_COMMUNICATOR_H

#include "runtime/model/Model.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fsnn::train {

using fsnn::model::Status;

class Communicator {
public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// The rank among the processes on this machine (a GPU per local rank).
  virtual int localRank() const = 0;
  /// Sends `mine` to process `peer` and receives its buffer of the same
  /// size into `theirs`.
  virtual Status exchange(int peer, const std::vector<char> &mine,
                          std::vector<char> &theirs) = 0;
  /// Sets `flag` when any process has it set.
  virtual Status any(bool &flag) = 0;
  /// Sums each element over the processes (integers: exact in any order).
  virtual Status sum(std::vector<int64_t> &values) = 0;
  /// Ends every process of the job after `message` (a failed rank must not
  /// leave the others waiting in an exchange).
  [[noreturn]] virtual void abort(const std::string &message) = 0;
};

/// The job of one process.
std::unique_ptr<Communicator> makeSingleProcess();

/// Open MPI's job when this process was started by mpirun or srun, built
/// with MPI; a single process otherwise. Fails when a launcher started
/// several processes and fsnn was built without MPI (each would train
/// alone and write the same files).
Status makeCommunicator(int &argc, char **&argv,
                        std::unique_ptr<Communicator> &communicator);

/// The reduction of `leaves` leaf values, whose order does not depend on the
/// number of processes: a range of leaves is split in halves while its
/// length is even and folded from the left when odd, and `combine(lower,
/// upper)` joins two neighbouring ranges. Process r of n holds leaves
/// [r L, (r+1) L), L = leaves / n, computed on demand by `leaf(index,
/// value)`; with n a power of two that divides `leaves`, its range is a
/// node of the tree and the processes join theirs pairwise (recursive
/// doubling), so that every process ends with the same bits as one process
/// computing the whole tree. `value` is a flat vector of T.
template <typename T>
using LeafFunction = std::function<Status(int64_t, std::vector<T> &)>;
template <typename T>
using CombineFunction = std::function<void(
    const std::vector<T> &, const std::vector<T> &, std::vector<T> &)>;
Status reduceInTree(Communicator &communicator, int64_t leaves,
                    const LeafFunction<float> &leaf,
                    const CombineFunction<float> &combine,
                    std::vector<float> &result);
Status reduceInTree(Communicator &communicator, int64_t leaves,
                    const LeafFunction<double> &leaf,
                    const CombineFunction<double> &combine,
                    std::vector<double> &result);

/// Why `leaves` shards cannot be spread over `processes` (empty when they
/// can): a power of two of processes that divides the shards.
std::string checkShardLayout(int64_t leaves, int processes);

} // namespace fsnn::train

#endif // FSNN_TRAINING_DIST_COMMUNICATOR_H
