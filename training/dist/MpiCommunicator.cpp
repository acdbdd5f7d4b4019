//===- MpiCommunicator.cpp - the processes of an Open MPI job ------------===//
//
// Point-to-point exchanges only for floating-point data (reduceInTree fixes
// the order of every sum); MPI's own reductions for integers and flags,
// whose results do not depend on the order.
//
//===----------------------------------------------------------------------===//

#include "training/dist/Communicator.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace fsnn::train {

namespace {

std::string mpiError(const char *what, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string("MPI ") + what + ": " + std::string(text, length);
}

class MpiCommunicator : public Communicator {
public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_,
                        MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &localRank_);
    MPI_Comm_free(&local);
    // Errors come back as codes, to be reported with the step they broke.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiCommunicator() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int localRank() const override { return localRank_; }

  Status exchange(int peer, const std::vector<char> &mine,
                  std::vector<char> &theirs) override {
    theirs.resize(mine.size());
    // MPI counts are ints: large buffers go in pieces.
    constexpr size_t kPiece = size_t(1) << 30;
    size_t offset = 0;
    do {
      int count = int(std::min(kPiece, mine.size() - offset));
      if (int code = MPI_Sendrecv(mine.data() + offset, count, MPI_BYTE, peer,
                                  0, theirs.data() + offset, count, MPI_BYTE,
                                  peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE))
        return Status::error(mpiError("exchange", code));
      offset += size_t(count);
    } while (offset < mine.size());
    return Status();
  }

  Status any(bool &flag) override {
    int value = flag, result = 0;
    if (int code =
            MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD))
      return Status::error(mpiError("allreduce", code));
    flag = result != 0;
    return Status();
  }

  Status sum(std::vector<int64_t> &values) override {
    std::vector<int64_t> result(values.size());
    if (int code =
            MPI_Allreduce(values.data(), result.data(), int(values.size()),
                          MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD))
      return Status::error(mpiError("allreduce", code));
    values.swap(result);
    return Status();
  }

  [[noreturn]] void abort(const std::string &message) override {
    std::fprintf(stderr, "rank %d of %d: %s; ending the job\n", rank_, size_,
                 message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::exit(1);
  }

private:
  int rank_ = 0, size_ = 1, localRank_ = 0;
};

bool launchedByMpi() {
  for (const char *variable :
       {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_STEP_ID"})
    if (std::getenv(variable))
      return true;
  return false;
}

} // namespace

Status makeCommunicator(int &argc, char **&argv,
                        std::unique_ptr<Communicator> &communicator) {
  // A process not started by a launcher stays out of MPI: no singleton
  // start-up, which is slow and may need a network.
  if (!launchedByMpi()) {
    communicator = makeSingleProcess();
    return Status();
  }
  if (int code = MPI_Init(&argc, &argv))
    return Status::error(mpiError("init", code));
  communicator = std::make_unique<MpiCommunicator>();
  return Status();
}

} // namespace fsnn::train
